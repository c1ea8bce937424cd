"""The networks: a stack of recurrent layers with a linear readout, and the deep MLP.

Both expose the same surface to the training loop: `forward(x, state, recorder, t_offset)`
returning (features, state), a `readout`, `probe_layers` (one name per probed hidden layer),
`named_weights()` with stable public names, `recurrent_blocks()` and `constrain()`.
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor, nn

from gradcore.cells import State
from gradcore.cnn import DeepCNN
from gradcore.esn import ESNLayer
from gradcore.inits import init_blocks, init_matrix, init_vector
from gradcore.layers import FusedLayer, IndRNNLayer, RecurrentLayer, public_name
from gradcore.probes import Recorder
from gradcore.spec import ExperimentSpec, indrnn_cap

# IRNN and IndRNN papers draw input weights from N(0, 0.001).
SMALL_INPUT_STD = 0.001

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


class RecurrentNet(nn.Module):
    feedforward = False

    def __init__(self, spec: ExperimentSpec, input_size: int, output_size: int) -> None:
        super().__init__()
        sizes = [input_size] + [spec.hidden_size] * spec.num_layers
        layers: list[RecurrentLayer | ESNLayer] = []
        for layer in range(spec.num_layers):
            if spec.cell == "indrnn":
                cap = indrnn_cap(spec.sequence_length)
                layers.append(IndRNNLayer(sizes[layer], spec.hidden_size, cap))
            elif spec.cell == "esn":
                layers.append(ESNLayer(sizes[layer], spec.hidden_size, spec.esn))
            else:
                layers.append(FusedLayer(spec.cell, sizes[layer], spec.hidden_size))
        self.layers = nn.ModuleList(layers)
        self.readout = nn.Linear(spec.hidden_size, output_size)
        self.probe_layers = [f"layer{i}" for i in range(spec.num_layers)]

    def forward(
        self,
        x: Tensor,
        states: list[State] | None,
        recorder: Recorder | None = None,
        t_offset: int = 0,
        keep_sequence: bool = True,
        *,
        unrolled: bool = False,
    ) -> tuple[Tensor | None, list[State]]:
        """x: (T, B, input_size) -> top layer's hidden sequence (T, B, H) and each layer's state.

        keep_sequence=False: the top layer stacks no sequence and None is returned in its place,
        for callers that read only its final state. Lower layers always keep theirs: it is the
        next layer's input. unrolled=True: every layer takes its unrolled path (gradcore.layers),
        which a recorder needs."""
        finals: list[State] = []
        top = len(self.layers) - 1
        features: Tensor | None = x
        for index, layer in enumerate(self.layers):
            assert features is not None  # only the top layer may drop its sequence
            features, final = layer(
                features,
                None if states is None else states[index],
                recorder,
                index,
                t_offset,
                keep_sequence=keep_sequence or index < top,
                unrolled=unrolled,
            )
            finals.append(final)
        return features, finals

    def named_weights(self) -> list[tuple[str, nn.Parameter]]:
        return [(public_name(path), p) for path, p in self.named_parameters()]

    def recurrent_blocks(self) -> dict[str, Tensor]:
        """Square recurrent matrices by name: 'layer0.weight_hh', per gate 'layer0.weight_hh.f'."""
        gate_names = {1: [""], 3: [".r", ".z", ".n"], 4: [".i", ".f", ".g", ".o"]}
        blocks: dict[str, Tensor] = {}
        for index, layer in enumerate(self.layers):
            base = (
                f"layer{index}.u" if isinstance(layer, IndRNNLayer) else f"layer{index}.weight_hh"
            )
            for suffix, block in zip(
                gate_names[layer.gates], layer.recurrent_blocks(), strict=True
            ):
                blocks[base + suffix] = block
        return blocks

    def constrain(self) -> None:
        for layer in self.layers:
            layer.constrain()


class DeepMLP(nn.Module):
    """The depth demo: `depth` hidden layers on a flattened image, then a linear readout.

    Each hidden layer's output plays the role of h_t: probing it gives |dL/dh_l| per layer.
    """

    feedforward = True

    def __init__(self, spec: ExperimentSpec, input_size: int, output_size: int) -> None:
        super().__init__()
        sizes = [input_size] + [spec.hidden_size] * spec.num_layers
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(sizes))
        self.activation = ACTIVATIONS[spec.activation]()
        self.readout = nn.Linear(spec.hidden_size, output_size)
        self.probe_layers = [f"layer{i}" for i in range(spec.num_layers)]

    def forward(
        self,
        x: Tensor,
        states: list[State] | None,
        recorder: Recorder | None = None,
        t_offset: int = 0,
        *,
        unrolled: bool = False,
    ) -> tuple[Tensor, list[State]]:
        """x: (T, B, 1) pixels -> the last hidden layer as a length-1 sequence (1, B, H). One
        path, whatever `unrolled` says."""
        h = x.squeeze(-1).transpose(0, 1)  # (B, T): the image flattened
        for index, linear in enumerate(self.layers):
            h = self.activation(linear(h))
            if recorder is not None:
                recorder.watch(h, index, 0)
        return h[None], []

    def named_weights(self) -> list[tuple[str, nn.Parameter]]:
        return [(public_name(path), p) for path, p in self.named_parameters()]

    def recurrent_blocks(self) -> dict[str, Tensor]:
        return {}

    def constrain(self) -> None:
        """Nothing to enforce."""


Network = RecurrentNet | DeepMLP | DeepCNN


def build_network(spec: ExperimentSpec, input_size: int, output_size: int) -> Network:
    """Build and initialise the network. Uses the global RNG: seed it (in a forked RNG) first."""
    if spec.cell == "mlp":
        # The MLP reads the whole sequence at once: T steps of input_size features.
        net: Network = DeepMLP(spec, spec.sequence_length * input_size, output_size)
        _init_mlp(net, spec)
    elif spec.cell == "cnn":
        pixels = spec.sequence_length * input_size
        net = DeepCNN(spec, pixels, output_size, ACTIVATIONS[spec.activation]())
        _init_mlp(net, spec)
    else:
        net = RecurrentNet(spec, input_size, output_size)
        _init_recurrent(net, spec)
    return net


@torch.no_grad()
def _init_recurrent(net: RecurrentNet, spec: ExperimentSpec) -> None:
    init = spec.init
    for index, layer in enumerate(net.layers):
        if isinstance(layer, ESNLayer):
            continue  # the reservoir drew its own fixed weights
        if isinstance(layer, IndRNNLayer):
            # The paper: the last layer keeps long memory with |u| >= 2^(-1/T); others from 0.
            is_last = index == len(net.layers) - 1
            low = 1.0 / layer.cap if is_last else 0.0
            init_vector(layer.u, init.recurrent, init.recurrent_scale, low, layer.cap)
            nn.init.normal_(layer.weight_ih, 0.0, SMALL_INPUT_STD)
            init_matrix(layer.weight_ih, init.input, init.input_scale)
            continue
        if spec.cell == "irnn":
            # Le et al. 2015: identity recurrence, zero biases, small input weights.
            nn.init.normal_(layer.weight_ih, 0.0, SMALL_INPUT_STD)
            layer.rnn.bias_ih_l0.zero_()
            layer.rnn.bias_hh_l0.zero_()
            recurrent = "identity" if init.recurrent == "default" else init.recurrent
        else:
            recurrent = init.recurrent
        init_blocks(layer.weight_hh, layer.gates, recurrent, init.recurrent_scale)
        init_blocks(layer.weight_ih, layer.gates, init.input, init.input_scale)
        if init.forget_bias is not None:
            hidden = layer.hidden_size
            layer.rnn.bias_ih_l0[hidden : 2 * hidden] = init.forget_bias  # gate order i, f, g, o
            layer.rnn.bias_hh_l0[hidden : 2 * hidden] = 0.0


@torch.no_grad()
def _init_mlp(net: DeepMLP | DeepCNN, spec: ExperimentSpec) -> None:
    # The first layer maps pixels to units (the "input" weights); the rest are hidden-to-hidden,
    # the untied counterpart of a recurrent matrix, so they take the "recurrent" scheme.
    for index, linear in enumerate(net.layers):
        if index == 0:
            init_matrix(linear.weight, spec.init.input, spec.init.input_scale)
        else:
            init_matrix(linear.weight, spec.init.recurrent, spec.init.recurrent_scale)

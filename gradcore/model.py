"""The networks: the surface the training loop uses (Network), and how each is built and
initialised: the recurrent stack (gradcore.recurrent) or a feed-forward depth demo
(gradcore.feedforward, gradcore.cnn), which reads the whole sequence as one input.
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import Tensor, nn

from gradcore.cells import State
from gradcore.cnn import DeepCNN
from gradcore.esn import ESNLayer
from gradcore.feedforward import DeepMLP, FeedForwardNet
from gradcore.inits import init_blocks, init_matrix, init_vector
from gradcore.layers import IndRNNLayer
from gradcore.probes import Recorder
from gradcore.recurrent import RecurrentNet
from gradcore.spec import LONG_MEMORY_CELLS, ExperimentSpec

# IRNN and IndRNN papers draw input weights from N(0, 0.001); Le et al. 2015 all the
# non-recurrent weights, the readout's too.
SMALL_INPUT_STD = 0.001


class Network(Protocol):
    """What the training loop, the probes and the optimizers use of a network. RecurrentNet,
    DeepMLP and DeepCNN implement it; each is also an nn.Module (parameters, state_dict, to).
    A feed-forward net reads the whole sequence as one input: its layers are probed at one
    time step, and the arguments about time steps do not concern it."""

    readout: nn.Linear  # features (..., H) -> outputs (..., C)
    probe_layers: list[str]  # one name per probed hidden layer

    def __call__(
        self,
        x: Tensor,
        states: list[State] | None,
        recorder: Recorder | None = None,
        t_offset: int = 0,
        keep_sequence: bool = True,
        *,
        unrolled: bool = False,
        checkpoint: bool = False,
    ) -> tuple[Tensor | None, list[State]]:
        """x: (T, B, input_size), time steps t_offset.. of the sequence, from `states` (None:
        zeros) -> the features the readout reads (T, B, H), or None without keep_sequence, and
        each layer's final state. `recorder` watches every hidden state and needs unrolled=True
        (see gradcore.layers); `checkpoint` recomputes activations in the backward pass."""

    def time_steps(self, sequence_length: int) -> int:
        """The positions a probe records per layer for a sequence this long."""

    def steps_per_call(self, k: int, sequence_length: int) -> int:
        """The time steps of one forward call when truncated BPTT asks for chunks of k."""

    def last_features(self, features: Tensor | None, states: list[State]) -> Tensor:
        """(B, H): what the readout reads for a last-step task, from a call's return values."""

    def named_weights(self) -> list[tuple[str, nn.Parameter]]:
        """Every parameter by its public name, e.g. 'layer0.weight_hh', 'readout.bias'."""

    def recurrent_blocks(self) -> dict[str, Tensor]:
        """Square recurrent matrices by name, for their spectral radii (none if feed-forward)."""

    def constrain(self) -> None:
        """Enforce the weights' bounds after an update (IndRNN's |u| <= cap)."""


def build_network(spec: ExperimentSpec, input_size: int, output_size: int) -> Network:
    """Build and initialise the network. Uses the global RNG: seed it (in a forked RNG) first."""
    if spec.cell == "mlp":
        # The MLP reads the whole sequence at once: T steps of input_size features.
        net: Network = DeepMLP(spec, spec.sequence_length * input_size, output_size)
        _init_feedforward(net, spec)
    elif spec.cell == "cnn":
        net = DeepCNN(spec, spec.sequence_length * input_size, output_size)
        _init_feedforward(net, spec)
    else:
        net = RecurrentNet(spec, input_size, output_size)
        _init_recurrent(net, spec)
    return net


@torch.no_grad()
def _init_recurrent(net: RecurrentNet, spec: ExperimentSpec) -> None:
    init = spec.init
    if spec.cell == "irnn":
        # Le et al. 2015: "the non-recurrent weights are initialized with a random matrix, whose
        # entries are sampled from a Gaussian distribution with mean of zero and standard
        # deviation of 0.001", and the biases are zero: the readout is one of those.
        nn.init.normal_(net.readout.weight, 0.0, SMALL_INPUT_STD)
        net.readout.bias.zero_()
    if spec.cell in LONG_MEMORY_CELLS:
        return  # their layers drew their papers' inits (gradcore.orthogonal, gradcore.diagonal)
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
def _init_feedforward(net: FeedForwardNet, spec: ExperimentSpec) -> None:
    # The first layer maps pixels to units (the "input" weights); the rest are hidden-to-hidden,
    # the untied counterpart of a recurrent matrix, so they take the "recurrent" scheme.
    for index, linear in enumerate(net.layers):
        if index == 0:
            init_matrix(linear.weight, spec.init.input, spec.init.input_scale)
        else:
            init_matrix(linear.weight, spec.init.recurrent, spec.init.recurrent_scale)

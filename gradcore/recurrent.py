"""The recurrent network: a stack of recurrent layers (gradcore.layers, gradcore.esn) and a
linear readout of the top layer. It implements gradcore.model.Network.
"""

from __future__ import annotations

import math

import torch
import torch.utils.checkpoint
from torch import Tensor, nn

from gradcore.cells import State, hidden_of
from gradcore.diagonal import DiagonalLayer, LRULayer, S4DLayer
from gradcore.esn import ESNLayer
from gradcore.layers import FusedLayer, IndRNNLayer, RecurrentLayer, public_weights
from gradcore.orthogonal import ExpRNNLayer
from gradcore.probes import Recorder
from gradcore.spec import ExperimentSpec, indrnn_cap
from gradcore.unitary import URNNLayer

AnyLayer = RecurrentLayer | ESNLayer | ExpRNNLayer | DiagonalLayer | URNNLayer


def build_layer(spec: ExperimentSpec, input_size: int) -> AnyLayer:
    """One layer of the spec's cell reading `input_size` features."""
    hidden = spec.hidden_size
    if spec.cell == "indrnn":
        return IndRNNLayer(input_size, hidden, indrnn_cap(spec.sequence_length))
    if spec.cell == "esn":
        return ESNLayer(input_size, hidden, spec.esn)
    if spec.cell == "exprnn":
        return ExpRNNLayer(input_size, hidden, spec.exprnn)
    if spec.cell == "lru":
        return LRULayer(input_size, hidden, spec.lru)
    if spec.cell == "s4d":
        return S4DLayer(input_size, hidden, spec.s4d)
    if spec.cell == "urnn":
        return URNNLayer(input_size, hidden)
    return FusedLayer(spec.cell, input_size, hidden)


class RecurrentNet(nn.Module):
    """`num_layers` layers of the spec's cell, each reading the one below, and the readout."""

    def __init__(self, spec: ExperimentSpec, input_size: int, output_size: int) -> None:
        super().__init__()
        sizes = [input_size] + [spec.hidden_size] * spec.num_layers
        self.layers = nn.ModuleList(
            [build_layer(spec, sizes[layer]) for layer in range(spec.num_layers)]
        )
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
        checkpoint: bool = False,
    ) -> tuple[Tensor | None, list[State]]:
        """x: (T, B, input_size) -> top layer's hidden sequence (T, B, H) and each layer's state.

        keep_sequence=False: the top layer stacks no sequence and None is returned in its place,
        for callers that read only its final state. Lower layers always keep theirs: it is the
        next layer's input. unrolled and checkpoint: see gradcore.model.Network."""
        if not checkpoint:
            return self._stack(x, states, recorder, t_offset, keep_sequence, unrolled)
        # Segments of about sqrt(T) steps, each under non-reentrant checkpointing: the backward
        # pass keeps only the segments' outputs (T, B, H) and boundary states and recomputes one
        # segment's activations at a time. Non-reentrant checkpointing backpropagates through
        # the original graph, so the recorder's hooks on h_t fire as without it.
        time_steps = x.shape[0]
        segment = max(1, math.isqrt(time_steps))
        outputs = []
        for start in range(0, time_steps, segment):
            features, states = torch.utils.checkpoint.checkpoint(
                self._stack,
                x[start : start + segment],
                states,
                recorder,
                t_offset + start,
                keep_sequence,
                unrolled,
                use_reentrant=False,
            )
            outputs.append(features)  # (segment, B, H), or None without keep_sequence
        return (torch.cat(outputs) if keep_sequence else None), states

    def _stack(
        self,
        x: Tensor,
        states: list[State] | None,
        recorder: Recorder | None,
        t_offset: int,
        keep_sequence: bool,
        unrolled: bool,
    ) -> tuple[Tensor | None, list[State]]:
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

    def time_steps(self, sequence_length: int) -> int:
        return sequence_length

    def steps_per_call(self, k: int, sequence_length: int) -> int:
        return k

    def last_features(self, features: Tensor | None, states: list[State]) -> Tensor:
        # The top layer's final state: last-step calls keep no sequence (and a slice of one
        # would send a zero (T, B, H) gradient back through every time step).
        return hidden_of(states[-1])

    def named_weights(self) -> list[tuple[str, nn.Parameter]]:
        return public_weights(self)

    def recurrent_blocks(self) -> dict[str, Tensor]:
        """Square recurrent matrices by name: 'layer0.weight_hh', per gate 'layer0.weight_hh.f'."""
        gate_names = {1: [""], 3: [".r", ".z", ".n"], 4: [".i", ".f", ".g", ".o"]}
        blocks: dict[str, Tensor] = {}
        for index, layer in enumerate(self.layers):
            base = f"layer{index}.{layer.recurrent_name}"
            for suffix, block in zip(
                gate_names[layer.gates], layer.recurrent_blocks(), strict=True
            ):
                blocks[base + suffix] = block
        return blocks

    def constrain(self) -> None:
        for layer in self.layers:
            layer.constrain()

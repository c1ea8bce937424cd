"""The depth demos' common part (seeds 001 and 003): a feed-forward net on the whole image.

Each hidden layer's output plays the role of h_t: probing it gives |dL/dh_l| per layer, at one
"time step". The net reads the whole sequence (the image's pixels) as one input, so for the
training loop (gradcore.model.Network) it runs one forward call per sequence, carries no state,
has no recurrent matrix and nothing to constrain.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Iterable

from torch import Tensor, nn

from gradcore.cells import State
from gradcore.layers import public_weights
from gradcore.probes import Recorder
from gradcore.spec import ExperimentSpec

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


class FeedForwardNet(nn.Module, ABC):
    """`layers` in turn, each followed by the spec's activation and shown to the recorder, then
    a linear readout. Subclasses say how the pixels become the first layer's input (`image`)
    and the last layer's output the readout's (`pool`)."""

    def __init__(self, layers: Iterable[nn.Module], spec: ExperimentSpec, output_size: int):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.activation = ACTIVATIONS[spec.activation]()
        self.readout = nn.Linear(spec.hidden_size, output_size)
        self.probe_layers = [f"layer{i}" for i in range(spec.num_layers)]

    @abstractmethod
    def image(self, x: Tensor) -> Tensor:
        """x: (T, B, 1) pixels -> the first layer's input."""

    @abstractmethod
    def pool(self, h: Tensor) -> Tensor:
        """The last layer's output -> the readout's input (B, H)."""

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
    ) -> tuple[Tensor, list[State]]:
        """x: (T, B, 1) pixels -> the pooled last layer as a length-1 sequence (1, B, H), and no
        state. The arguments past `recorder` are about time steps, which this net has none of."""
        h = self.image(x)
        for index, layer in enumerate(self.layers):
            h = self.activation(layer(h))
            if recorder is not None:
                recorder.watch(h, index, 0)
        return self.pool(h)[None], []

    def time_steps(self, sequence_length: int) -> int:
        return 1

    def steps_per_call(self, k: int, sequence_length: int) -> int:
        return sequence_length  # the whole image: no part of it is an input of its own

    def last_features(self, features: Tensor | None, states: list[State]) -> Tensor:
        assert features is not None  # this net always returns its one step
        return features[-1]

    def named_weights(self) -> list[tuple[str, nn.Parameter]]:
        return public_weights(self)

    def recurrent_blocks(self) -> dict[str, Tensor]:
        return {}

    def constrain(self) -> None:
        """Nothing to enforce."""


class DeepMLP(FeedForwardNet):
    """The depth demo of seed 003: `num_layers` hidden layers on the flattened image."""

    def __init__(self, spec: ExperimentSpec, input_size: int, output_size: int) -> None:
        sizes = [input_size] + [spec.hidden_size] * spec.num_layers
        super().__init__([nn.Linear(a, b) for a, b in itertools.pairwise(sizes)], spec, output_size)

    def image(self, x: Tensor) -> Tensor:
        return x.squeeze(-1).transpose(0, 1)  # (B, T): the image flattened

    def pool(self, h: Tensor) -> Tensor:
        return h

"""The convolutional depth demo (seed 001): a deep CNN beside the deep MLP, same activation.

Each conv layer has its own kernel, so ReLU keeps the gradient alive across depth where sigmoid
loses it; in an RNN one W is reused at every step and ReLU alone does not help. Probing each
layer's output gives one |dL/dh_l| per layer, as for the MLP (time_steps 1).
"""

from __future__ import annotations

import itertools
import math

from torch import Tensor, nn

from gradcore.cells import State
from gradcore.layers import public_name
from gradcore.probes import Recorder
from gradcore.spec import ExperimentSpec

KERNEL = 3  # 3x3 kernels with padding 1 keep the image size, so any depth fits an 8x8 image


class DeepCNN(nn.Module):
    """`num_layers` conv layers of `hidden_size` channels on the square image, global average
    pooling, then a linear readout."""

    feedforward = True

    def __init__(
        self, spec: ExperimentSpec, pixels: int, output_size: int, activation: nn.Module
    ) -> None:
        super().__init__()
        self.side = math.isqrt(pixels)
        if self.side**2 != pixels:
            raise ValueError(f"cnn: {pixels} pixels do not form a square image")
        channels = [1] + [spec.hidden_size] * spec.num_layers
        self.layers = nn.ModuleList(
            nn.Conv2d(c_in, c_out, KERNEL, padding=KERNEL // 2)
            for c_in, c_out in itertools.pairwise(channels)
        )
        self.activation = activation
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
        """x: (T, B, 1) pixels -> pooled features of the last layer as a length-1 sequence. One
        path, whatever `unrolled` says."""
        h = x.squeeze(-1).T.reshape(-1, 1, self.side, self.side)  # (B, 1, side, side)
        for index, conv in enumerate(self.layers):
            h = self.activation(conv(h))  # (B, C, side, side)
            if recorder is not None:
                recorder.watch(h, index, 0)
        return h.mean(dim=(2, 3))[None], []  # (1, B, C)

    def named_weights(self) -> list[tuple[str, nn.Parameter]]:
        return [(public_name(path), p) for path, p in self.named_parameters()]

    def recurrent_blocks(self) -> dict[str, Tensor]:
        return {}

    def constrain(self) -> None:
        """Nothing to enforce."""

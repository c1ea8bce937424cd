"""The convolutional depth demo (seed 001): a deep CNN beside the deep MLP, same activation.

Each conv layer has its own kernel, so ReLU keeps the gradient alive across depth where sigmoid
loses it; in an RNN one W is reused at every step and ReLU alone does not help. Probing each
layer's output gives one |dL/dh_l| per layer, as for the MLP (time_steps 1).
"""

from __future__ import annotations

import itertools
import math

from torch import Tensor, nn

from gradcore.feedforward import FeedForwardNet
from gradcore.spec import ExperimentSpec

KERNEL = 3  # 3x3 kernels with padding 1 keep the image size, so any depth fits an 8x8 image


class DeepCNN(FeedForwardNet):
    """`num_layers` conv layers of `hidden_size` channels on the square image, global average
    pooling, then a linear readout."""

    def __init__(self, spec: ExperimentSpec, pixels: int, output_size: int) -> None:
        side = math.isqrt(pixels)
        if side**2 != pixels:
            raise ValueError(f"cnn: {pixels} pixels do not form a square image")
        channels = [1] + [spec.hidden_size] * spec.num_layers
        convs = [
            nn.Conv2d(c_in, c_out, KERNEL, padding=KERNEL // 2)
            for c_in, c_out in itertools.pairwise(channels)
        ]
        super().__init__(convs, spec, output_size)
        self.side = side

    def image(self, x: Tensor) -> Tensor:
        return x.squeeze(-1).T.reshape(-1, 1, self.side, self.side)  # (B, 1, side, side)

    def pool(self, h: Tensor) -> Tensor:
        return h.mean(dim=(2, 3))  # (B, C, side, side) -> (B, C)

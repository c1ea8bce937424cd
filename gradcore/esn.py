"""Echo state network layer (Jaeger 2001): a fixed random reservoir, only the readout trains.

h_t = (1 - a) h_{t-1} + a tanh(W_in x_t + W h_{t-1} + b), with W sparse, scaled to a chosen
spectral radius, and W_in, b, W all buffers: never in the optimizer, never changed. dL/dh_t
still exists (the loss depends on every h_t through W), so probe steps trace it like any cell.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gradcore.layers import unroll
from gradcore.probes import Recorder, eigenvalues, spectral_radius
from gradcore.spec import ESNSpec


def reservoir_matrix(hidden_size: int, spec: ESNSpec) -> Tensor:
    """(H, H) N(0, 1) entries kept with probability `connectivity`, scaled to the requested
    spectral radius. Each unit also feeds one other along a random cycle: a matrix of only
    sparse random entries can be nilpotent (radius 0), which no scaling could fix."""
    weights = torch.randn(hidden_size, hidden_size, dtype=torch.float64)
    mask = torch.rand(hidden_size, hidden_size, dtype=torch.float64) < spec.connectivity
    cycle = torch.randperm(hidden_size)
    mask[cycle, cycle.roll(1)] = True
    reservoir = weights * mask
    return (reservoir * (spec.spectral_radius / spectral_radius(reservoir))).float()


class ESNLayer(nn.Module):
    cell = "esn"
    gates = 1
    recurrent_name = "weight_hh"

    def __init__(self, input_size: int, hidden_size: int, spec: ESNSpec) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.leak_rate = spec.leak_rate
        scale = spec.input_scale
        self.register_buffer("weight_ih", (2 * torch.rand(hidden_size, input_size) - 1) * scale)
        self.register_buffer("bias", (2 * torch.rand(hidden_size) - 1) * scale)
        self.register_buffer("weight_hh", reservoir_matrix(hidden_size, spec))

    def project(self, x: Tensor) -> Tensor:
        """(T, B, input_size) -> W_in x_t + b for every t: (T, B, H)."""
        return torch.nn.functional.linear(x, self.weight_ih, self.bias)

    def step(self, x_proj: Tensor, h: Tensor) -> Tensor:
        """One leaky update from (B, H) to (B, H)."""
        pre = x_proj + torch.nn.functional.linear(h, self.weight_hh)
        return (1 - self.leak_rate) * h + self.leak_rate * torch.tanh(pre)

    def forward(
        self,
        x: Tensor,
        state: Tensor | None,
        recorder: Recorder | None = None,
        layer: int = 0,
        t_offset: int = 0,
        keep_sequence: bool = True,
        *,
        unrolled: bool = False,
    ) -> tuple[Tensor | None, Tensor]:
        """As FusedLayer.forward, unrolled either way: the (T, B, H) sequence, or None without
        keep_sequence."""
        h = x.new_zeros(x.shape[1], self.hidden_size) if state is None else state
        if recorder is not None and not h.requires_grad:
            # No parameter of the reservoir requires grad, so the states would not either: a
            # zero start state that does makes every h_t part of the graph, and its hook sees
            # the total dL/dh_t. Its own gradient is never read.
            h = h.detach().requires_grad_()
        return unroll(self.project(x), h, self.step, recorder, layer, t_offset, keep_sequence)

    def recurrent_blocks(self) -> list[Tensor]:
        return [self.weight_hh]

    def eigenvalues(self) -> Tensor:
        return eigenvalues(self.weight_hh)

    def constrain(self) -> None:
        """Nothing to enforce: the reservoir never changes."""

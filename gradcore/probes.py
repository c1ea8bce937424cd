"""Probes: the measurements taken from a network without changing its training.

HiddenGradNorms records |dL/dh_t| for every layer and time step with tensor hooks: each hook
reduces the (B, H) gradient to one number as the backward pass reaches h_t, so a probe step
never holds T gradient tensors.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Protocol

import torch
from torch import Tensor


class Recorder(Protocol):
    """What a network's forward pass shows every hidden state it computes: h (B, H) of layer
    `layer` at time step t (a feed-forward net's layer output, at t = 0)."""

    def watch(self, hidden: Tensor, layer: int, t: int) -> None: ...


class HiddenGradNorms:
    """Collects norm[l, t] = |dL/dh_t of layer l| (Frobenius over batch and units).

    The hook on h_t fires once, with the gradient accumulated over every use of h_t (the next
    time step, the next layer, the readout): the total gradient. Positions no gradient reaches
    (e.g. behind a truncated-BPTT cut when the loss is only at the end) stay exactly 0.
    """

    def __init__(self, layers: int, time_steps: int, device: torch.device) -> None:
        # float64: the norm of a gradient near float32's underflow must not underflow itself.
        self.norms = torch.zeros(layers, time_steps, dtype=torch.float64, device=device)
        self._into = self.norms  # where the hooks write: norms, or a second pass's curves

    @contextmanager
    def into(self, norms: Tensor) -> Iterator[None]:
        """Hooks that fire inside the block write to `norms` (layers, T) instead: the curves of
        a second backward pass, of part of the loss (gradcore.step's recall phase)."""
        self._into = norms
        try:
            yield
        finally:
            self._into = self.norms

    def watch(self, hidden: Tensor, layer: int, t: int) -> None:
        if hidden.requires_grad:
            hidden.register_hook(partial(self._store, layer, t))

    def _store(self, layer: int, t: int, grad: Tensor) -> None:
        self._into[layer, t] = state_grad_norm(grad)


def state_grad_norm(grad: Tensor) -> Tensor:
    """|dL/dh| in float64: the Frobenius norm over every entry, and for a complex state over
    real and imaginary parts, sqrt(sum |dL/dRe h|^2 + |dL/dIm h|^2). PyTorch's gradient of a
    real loss in a complex h is dL/dRe h + i dL/dIm h, so this is the norm of its real view."""
    real = torch.view_as_real(grad) if grad.is_complex() else grad
    return torch.linalg.vector_norm(real, dtype=torch.float64)


def gradient_horizon(norms: list[float], fraction: float) -> int:
    """The gradient horizon: T minus the earliest t with norms[t] >= fraction * max(norms), how
    far back from the end the gradient still reaches; 0 when every norm is 0.

    It is not a count of consecutive steps: a curve that dips below the threshold and rises
    again counts from its earliest crossing, the dip inside the horizon. Where the task has a
    loss at every step (copy), each h_t receives its own step's loss gradient directly, so the
    curve stays near its peak and the horizon is about T by construction: a measure of memory
    only for tasks whose loss is at the end. There the horizon of the recall phase's gradient
    alone (hidden_grad.recall_horizon, gradcore.step) is the measure of memory."""
    peak = max(norms)
    if peak <= 0.0:
        return 0
    threshold = fraction * peak
    earliest = next(t for t, value in enumerate(norms) if value >= threshold)
    return len(norms) - earliest


@torch.no_grad()
def eigenvalues(matrix: Tensor) -> Tensor:
    """(N,) complex128: the eigenvalues of a square matrix (real or complex), computed in
    float64 on the CPU."""
    wide = torch.complex128 if matrix.is_complex() else torch.float64
    return torch.linalg.eigvals(matrix.detach().to(wide).cpu())


def spectral_radius(matrix: Tensor) -> float:
    """max |eigenvalue| of a square matrix (real or complex)."""
    return float(eigenvalues(matrix).abs().max())

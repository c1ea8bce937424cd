"""Gradient measurement and clipping, in one pass over the gradients.

Norms are computed in float64 so a vanishing gradient's norm does not underflow on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from gradcore.spec import ClipNone, ClipNorm, ClipValue

# torch.nn.utils.clip_grad_norm_ divides by (norm + eps); the same eps gives the same result.
CLIP_EPS = 1e-6


@dataclass(frozen=True)
class GradStats:
    """0-d tensors and one (P,) tensor, left on the device so a step syncs once."""

    per_param: Tensor  # (P,) float64: each parameter's gradient norm before clipping
    total: Tensor  # global norm before clipping
    clipped_total: Tensor  # global norm after clipping
    clipped: Tensor  # bool: clipping changed the gradient


def _norms(grads: list[Tensor]) -> Tensor:
    return torch.stack(torch._foreach_norm(grads, 2, dtype=torch.float64))


@torch.no_grad()
def measure_and_clip(grads: list[Tensor], clipping: ClipNone | ClipNorm | ClipValue) -> GradStats:
    """Measure the gradients, clip them in place as the spec says, and measure again."""
    per_param = _norms(grads)
    total = torch.linalg.vector_norm(per_param)
    if isinstance(clipping, ClipNorm):
        # Pascanu et al. 2013: g <- c * g / |g| when |g| > c; one norm over all parameters.
        coef = (clipping.max_norm / (total + CLIP_EPS)).clamp(max=1.0)
        torch._foreach_mul_(grads, coef.to(grads[0].dtype))
        clipped = total > clipping.max_norm
    elif isinstance(clipping, ClipValue):
        largest = torch.stack([g.abs().max() for g in grads]).max()
        clipped = largest > clipping.clip_value
        for g in grads:
            g.clamp_(-clipping.clip_value, clipping.clip_value)
    else:
        return GradStats(per_param, total, total, torch.zeros((), dtype=torch.bool))
    return GradStats(per_param, total, torch.linalg.vector_norm(_norms(grads)), clipped)

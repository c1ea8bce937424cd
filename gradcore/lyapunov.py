"""The largest Lyapunov exponents of a layer's recurrent map along its trajectory (QR method).

k orthonormal tangent directions are pushed through every step's Jacobian and re-orthonormalised
by QR: Q_t R_t = D_t Q_{t-1}. The i-th exponent is the mean over steps of log |R_t[i, i]|: the
per-step log growth rate of the i-th direction once the first i-1 are factored out. Negative
exponents mean perturbations (and so gradients) shrink geometrically, by about exp(lambda_1)
per step at best; a linear map a*I has every exponent log(a).
"""

from __future__ import annotations

import torch
from torch import Tensor

from gradcore.statemap import LayerTrajectory, push_forward


@torch.no_grad()
def lyapunov_exponents(path: LayerTrajectory, count: int, generator: torch.Generator) -> Tensor:
    """(count,) float64, in QR order (the first estimates the largest exponent), each the mean
    over the batch of the per-sequence exponent over the T steps from the zero start state."""
    states = path.states  # (T + 1, B, N)
    batch, size = states.shape[1], states.shape[2]
    start = torch.randn(batch, size, count, generator=generator, dtype=torch.float64)
    q = torch.linalg.qr(start).Q.to(states)  # (B, N, k)
    log_growth = torch.zeros(batch, count, dtype=torch.float64, device=states.device)
    tiny = torch.finfo(states.dtype).tiny  # a direction mapped to exactly 0 grows by log(tiny)
    for j in range(path.x_proj.shape[0]):
        pushed = push_forward(path, j, q.permute(2, 0, 1)).permute(1, 2, 0)  # (B, N, k)
        q, r = torch.linalg.qr(pushed)
        log_growth += r.diagonal(dim1=1, dim2=2).abs().clamp_min(tiny).double().log()
    return (log_growth / path.x_proj.shape[0]).mean(dim=0)

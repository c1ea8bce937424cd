"""Spectral norm of dh_T/dh_t for every t, by power iteration with jvp and vjp.

J_t = ds_{T-1}/ds_t is the product of the map's Jacobians at steps t+1 .. T-1; its largest
singular value bounds how much of dL/dh_T can reach h_t. Power iteration on J_t^T J_t needs
J_t v (a jvp pushed forward from t to T-1) and J_t^T u (a vjp pulled back from T-1 to t). All
T problems run at once: one sweep over the sequence carries every start's vector, so a sweep is
T vectorised jvp (or vjp) calls. Each vector is renormalised after every step and its log scale
kept in float64, so neither underflow nor overflow of the float32 product corrupts the estimate.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from gradcore.statemap import LayerTrajectory, pull_back, push_forward

LOG_MAX = math.log(torch.finfo(torch.float64).max)  # larger norms are reported as float64's max


def _unit(vectors: Tensor) -> tuple[Tensor, Tensor]:
    """Rows scaled to norm 1 (an exact 0 stays 0) and the log of their norms, float64."""
    norms = torch.linalg.vector_norm(vectors, dim=-1, keepdim=True)
    tiny = torch.finfo(vectors.dtype).tiny
    return vectors / norms.clamp_min(tiny), norms.squeeze(-1).double().clamp_min(tiny).log()


def _push_forward(path: LayerTrajectory, v: Tensor) -> tuple[Tensor, Tensor]:
    """v: (T, B, N), v[t] a tangent at s_t. Returns the directions of J_t v[t] (T, B, N) and
    log |J_t v[t]| (T, B) float64."""
    steps = v.shape[0]
    log_scale = torch.zeros(v.shape[:2], dtype=torch.float64, device=v.device)
    active = v[:0]  # tangents of the starts t < j, carried to s_{j-1}
    for j in range(1, steps):
        active = torch.cat([active, v[j - 1 : j]])
        active, log_norm = _unit(push_forward(path, j, active))
        log_scale[:j] += log_norm
    return torch.cat([active, v[steps - 1 :]]), log_scale


def _pull_back(path: LayerTrajectory, u: Tensor) -> Tensor:
    """u: (T, B, N), u[t] a cotangent at s_{T-1}. Returns the directions of J_t^T u[t]."""
    steps = u.shape[0]
    result = torch.empty_like(u)
    result[steps - 1] = u[steps - 1]
    active = u[: steps - 1]  # cotangents of the starts t < j, pulled back to s_j
    for j in range(steps - 1, 0, -1):
        active, _ = _unit(pull_back(path, j, active))
        result[j - 1] = active[j - 1]
        active = active[: j - 1]
    return result


@torch.no_grad()
def jacobian_spectral_norms(
    path: LayerTrajectory, iterations: int, generator: torch.Generator
) -> Tensor:
    """(T,) float64: ||ds_{T-1}/ds_t||_2 for t = 0 .. T-1 (the last is 1), the mean over the
    batch of each sequence's own Jacobian norm."""
    states = path.states[1:]  # (T, B, N)
    start = torch.randn(states.shape, generator=generator, dtype=torch.float64)
    v, _ = _unit(start.to(states))
    for _ in range(iterations):
        u, _ = _push_forward(path, v)
        v = _pull_back(path, u)
    _, log_norm = _push_forward(path, v)
    return log_norm.clamp_max(LOG_MAX).exp().mean(dim=1)

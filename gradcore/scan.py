"""The diagonal linear recurrence h_t = lam * h_{t-1} + u_t, two ways over the same numbers.

- `linear_scan`: a parallel scan by recursive doubling (odd-even reduction): pairs of steps
  are combined into one step of lam^2, the half-length recurrence is solved the same way, and
  the even steps are filled in from it. log2(T) levels of whole-tensor operations, O(T) work
  and memory in all (the levels halve), against T small operations for the loop.
- `linear_loop`: one step at a time, which can show every h_t to a recorder.

lam is (H,) and time-invariant (LRU, S4D); u is (T, B, H); both may be complex.
"""

from __future__ import annotations

import torch
from torch import Tensor

from gradcore.probes import Recorder


def linear_scan(lam: Tensor, u: Tensor, start: Tensor) -> Tensor:
    """(T, B, H) states of h_t = lam h_{t-1} + u_t from h_{-1} = start (B, H)."""
    first = u[:1] + lam * start  # fold the start state into the first input
    return _scan_from_zero(lam, torch.cat([first, u[1:]]))


def _scan_from_zero(lam: Tensor, u: Tensor) -> Tensor:
    steps = u.shape[0]
    if steps == 1:
        return u
    if steps % 2 == 1:
        # An odd length: solve the even prefix, then take the last step on its own.
        head = _scan_from_zero(lam, u[:-1])
        return torch.cat([head, (lam * head[-1] + u[-1])[None]])
    pairs = u.reshape(steps // 2, 2, *u.shape[1:])  # pairs[j] = (u_2j, u_2j+1)
    # One step of lam^2 per pair: h_2j+1 = lam^2 h_2j-1 + (lam u_2j + u_2j+1).
    odd = _scan_from_zero(lam * lam, lam * pairs[:, 0] + pairs[:, 1])  # h_1, h_3, ...
    # h_2j = lam h_2j-1 + u_2j, with h_-1 = 0.
    before = torch.cat([torch.zeros_like(odd[:1]), odd[:-1]])
    even = lam * before + pairs[:, 0]
    return torch.stack([even, odd], dim=1).reshape(u.shape)


def linear_loop(
    lam: Tensor, u: Tensor, start: Tensor, recorder: Recorder | None, layer: int, t_offset: int
) -> Tensor:
    """As linear_scan, one step at a time, each h_t (B, H) shown to `recorder` if given."""
    states = []
    h = start
    for t, u_t in enumerate(u.unbind(0)):  # unbind: see gradcore.layers.unroll
        h = lam * h + u_t
        if recorder is not None:
            recorder.watch(h, layer, t_offset + t)
        states.append(h)
    return torch.stack(states)

"""Weight initialisation schemes, applied per gate block so each gate's square recurrent block
gets the scheme as if it were its own matrix (an orthogonal LSTM has four orthogonal blocks)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from gradcore.spec import InitScheme


@torch.no_grad()
def init_matrix(weight: Tensor, scheme: InitScheme, scale: float | None) -> None:
    """Initialise one (out, in) matrix in place. `default` leaves it untouched.

    scale: gain for xavier/orthogonal, a multiplier for kaiming (He: std sqrt(2/fan_in)) and
    identity, the std for normal (unset: 1/sqrt(fan_in)).
    """
    gain = 1.0 if scale is None else scale
    if scheme == "default":
        return
    if scheme == "xavier_uniform":
        nn.init.xavier_uniform_(weight, gain=gain)
    elif scheme == "xavier_normal":
        nn.init.xavier_normal_(weight, gain=gain)
    elif scheme == "kaiming_uniform":
        nn.init.kaiming_uniform_(weight, nonlinearity="relu").mul_(gain)
    elif scheme == "kaiming_normal":
        nn.init.kaiming_normal_(weight, nonlinearity="relu").mul_(gain)
    elif scheme == "orthogonal":
        nn.init.orthogonal_(weight, gain=gain)
    elif scheme == "identity":
        # Rectangular matrices get ones on the main diagonal, as torch.nn.init.eye_.
        nn.init.eye_(weight).mul_(gain)
    elif scheme == "normal":
        fan_in = weight[0].numel()  # in_features; in_channels * kernel area for a conv
        std = 1.0 / math.sqrt(fan_in) if scale is None else scale
        nn.init.normal_(weight, 0.0, std)
    else:
        raise ValueError(f"init: unknown scheme {scheme!r}")


def init_blocks(weight: Tensor, blocks: int, scheme: InitScheme, scale: float | None) -> None:
    """Initialise a stacked-gates matrix (blocks * H, in) one (H, in) block at a time."""
    for block in weight.detach().chunk(blocks, dim=0):
        init_matrix(block, scheme, scale)


@torch.no_grad()
def init_vector(
    u: Tensor, scheme: InitScheme, scale: float | None, low: float, high: float
) -> None:
    """IndRNN's recurrent vector: `default` is U(low, high), identity sets every u_i = scale
    (1 if unset), normal draws N(0, std)."""
    if scheme == "default":
        nn.init.uniform_(u, low, high)
    elif scheme == "identity":
        u.fill_(1.0 if scale is None else scale)
    elif scheme == "normal":
        nn.init.normal_(u, 0.0, 1.0 if scale is None else scale)
    else:
        raise ValueError(f"init.recurrent: {scheme!r} does not apply to a recurrent vector")

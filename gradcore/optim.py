"""Optimizers from the spec, and the L1 penalty applied at the update."""

from __future__ import annotations

import torch
from torch import nn

from gradcore.spec import OptimizerSpec


def build_optimizer(spec: OptimizerSpec, params: list[nn.Parameter]) -> torch.optim.Optimizer:
    if spec.name == "sgd":
        return torch.optim.SGD(
            params, lr=spec.lr, momentum=spec.momentum, weight_decay=spec.weight_decay
        )
    if spec.name == "rmsprop":
        return torch.optim.RMSprop(
            params, lr=spec.lr, momentum=spec.momentum, weight_decay=spec.weight_decay
        )
    return torch.optim.Adam(params, lr=spec.lr, weight_decay=spec.weight_decay)


@torch.no_grad()
def apply_l1(spec: OptimizerSpec, params: list[nn.Parameter]) -> None:
    """Proximal-free L1 subgradient step: W <- W - lr * l1 * sign(W)."""
    if spec.l1 > 0:
        torch._foreach_add_(params, [p.sign() for p in params], alpha=-spec.lr * spec.l1)

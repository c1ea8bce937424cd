"""A run's resumable state between two training steps, and its bytes.

Resuming from a checkpoint taken after step k-1 and running steps k.. gives, on the CPU, the
same numbers as the uninterrupted run: the checkpoint holds everything that carries from one
step to the next (weights, optimizer state, every random generator, Hessian-free's damping and
warm start). The traces recorded before the checkpoint are not in it: the caller stores them as
they come and hands them back on resume (see gradcore.slices.refill).

The bytes are torch's serialisation, read back with `weights_only=True`: tensors, numbers,
strings, lists and dicts only, never arbitrary objects.
"""

from __future__ import annotations

import copy
import io
from dataclasses import dataclass
from typing import Any

import torch

from gradcore.hessian_free import HessianFree

FORMAT_VERSION = 1


@dataclass
class Checkpoint:
    step: int  # training steps completed: the resumed run starts at this step
    elapsed_s: float  # training time before the checkpoint, so wall_time_s covers the run
    network: dict[str, torch.Tensor]
    optimizer: dict[str, Any]  # torch optimizer state_dict, or Hessian-free's {damping, previous}
    generators: dict[str, torch.Tensor]  # name -> torch.Generator state (uint8)
    radius_start: dict[str, float]

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        torch.save({"format": FORMAT_VERSION, **vars(self)}, buffer)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Checkpoint:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        if state.pop("format", None) != FORMAT_VERSION:
            raise ValueError("checkpoint: written by another version of gradcore; start afresh")
        return cls(**state)


def capture(
    step: int,
    elapsed_s: float,
    net: torch.nn.Module,
    optimizer: torch.optim.Optimizer | HessianFree,
    generators: dict[str, torch.Generator],
    radius_start: dict[str, float],
) -> Checkpoint:
    """The state before training step `step` (copies on the CPU: training goes on)."""
    return Checkpoint(
        step=step,
        elapsed_s=elapsed_s,
        network={name: value.detach().cpu().clone() for name, value in net.state_dict().items()},
        optimizer=copy.deepcopy(_optimizer_state(optimizer)),
        generators={name: generator.get_state() for name, generator in generators.items()},
        radius_start=dict(radius_start),
    )


def restore(
    checkpoint: Checkpoint,
    net: torch.nn.Module,
    optimizer: torch.optim.Optimizer | HessianFree,
    generators: dict[str, torch.Generator],
) -> None:
    net.load_state_dict(checkpoint.network)
    _load_optimizer_state(optimizer, checkpoint.optimizer)
    for name, generator in generators.items():
        generator.set_state(checkpoint.generators[name])


def _optimizer_state(optimizer: torch.optim.Optimizer | HessianFree) -> dict[str, Any]:
    if isinstance(optimizer, HessianFree):
        return {"damping": optimizer.damping, "previous": optimizer.previous}
    return optimizer.state_dict()


def _load_optimizer_state(
    optimizer: torch.optim.Optimizer | HessianFree, state: dict[str, Any]
) -> None:
    if isinstance(optimizer, HessianFree):
        previous = state["previous"]
        device = next(iter(optimizer.params.values())).device
        optimizer.damping = state["damping"]
        optimizer.previous = None if previous is None else previous.to(device)
    else:
        optimizer.load_state_dict(state)

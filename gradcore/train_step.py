"""One training step: a fresh batch, forward and backward, clipping, the update, its record.

A step whose loss, global gradient norm or |dL/dh_t| is not finite (NaN or inf) makes no update
and ends the run as diverged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from gradcore.clipping import measure_and_clip
from gradcore.dynamics import MapProbe
from gradcore.hessian_free import HessianFree
from gradcore.hooks import RunFacts
from gradcore.model import Network
from gradcore.optim import apply_l1
from gradcore.spec import ExperimentSpec
from gradcore.step import forward_backward
from gradcore.tasks.base import Batch, TaskData
from gradcore.trace import StepRecord, TraceBuilder
from gradcore.uoro import uoro_forward_backward


@dataclass(frozen=True)
class Run:
    """What a run's steps share, as its setup built them (gradcore.train)."""

    spec: ExperimentSpec
    device: torch.device
    task: TaskData
    net: Network
    params: list[nn.Parameter]  # every parameter, in TraceBuilder.param_names order
    tracked: list[nn.Parameter]  # the weights whose change is traced, in weight_names order
    optimizer: torch.optim.Optimizer | HessianFree
    hessian_free: HessianFree | None  # the optimizer again, when it is Hessian-free
    generators: dict[str, torch.Generator]  # "data", "uoro", and "map_probe" with map probes
    trace: TraceBuilder
    map_probe: MapProbe | None
    facts: RunFacts
    first_step: int  # 0, or the step a resumed run continues from
    elapsed_before: float  # a resumed run's training time before its checkpoint


class Ending(NamedTuple):
    """How the training loop ended: completed, stopped, or diverged at a step, and why."""

    outcome: str
    diverged_at: int | None = None
    diverged_reason: str | None = None


def train_step(run: Run, step: int, probe: bool) -> StepRecord | Ending:
    """Training step `step`, probed or not: its record, or the Ending of a diverged run."""
    spec, net = run.spec, run.net
    batch = run.task.train_batch(spec.batch_size, run.generators["data"]).to(run.device)
    run.optimizer.zero_grad(set_to_none=False)
    if spec.training.mode == "uoro":
        out = uoro_forward_backward(net, run.task, batch, probe, run.generators["uoro"])
    else:
        out = forward_backward(net, run.task, batch, spec.training, probe=probe)
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in run.params]
    stats = measure_and_clip(grads, spec.clipping)
    # One device sync for the step's four scalars.
    loss, metric, grad_norm, clipped_grad_norm = torch.stack(
        [out.loss.double(), out.metric.double(), stats.total, stats.clipped_total]
    ).tolist()
    hidden_grad = None if out.hidden_grad_norms is None else out.hidden_grad_norms.tolist()
    recall_grad = None if out.recall_grad_norms is None else out.recall_grad_norms.tolist()
    not_finite = _first_non_finite_quantity(loss, grad_norm, hidden_grad)
    if not_finite is not None:
        return Ending("diverged", step, f"{not_finite} is not finite (NaN or inf) at step {step}")

    if run.map_probe is not None and hidden_grad is not None:
        run.map_probe.measure(step, net, batch.inputs)  # before the update, as dL/dh_t was
    weight_change = _update(run, step, batch, loss)
    return StepRecord(
        step=step,
        loss=loss,
        metric=metric,
        grad_norm=grad_norm,
        clipped_grad_norm=clipped_grad_norm,
        clipped=bool(stats.clipped),
        per_param=stats.per_param.tolist(),
        weight_change=weight_change,
        hidden_grad=hidden_grad,
        recall_grad=recall_grad,
    )


def _update(run: Run, step: int, batch: Batch, loss: float) -> list[float]:
    """The optimizer's step, the L1 penalty and the weight bounds; returns the mean |delta W|
    of each tracked weight."""
    before = [p.detach().clone() for p in run.tracked]
    if run.hessian_free is not None:
        run.hessian_free.step(step, run.task, batch, loss)  # needs the batch for curvature
    else:
        run.optimizer.step()
    apply_l1(run.spec.optimizer, run.params)
    run.net.constrain()
    with torch.no_grad():
        deltas = torch._foreach_sub([p.detach() for p in run.tracked], before)
        change = torch.stack([delta.abs().mean() for delta in deltas])
    return change.double().tolist()


def _first_non_finite_quantity(
    loss: float, grad_norm: float, hidden_grad: list[list[float]] | None
) -> str | None:
    if not math.isfinite(loss):
        return "the loss"
    if not math.isfinite(grad_norm):
        return "the global gradient norm"
    if hidden_grad is not None and not all(math.isfinite(v) for c in hidden_grad for v in c):
        return "dL/dh_t"
    return None

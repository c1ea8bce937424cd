"""The end of a run: held-out evaluation and the summary block."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from gradcore.hooks import RunFacts
from gradcore.model import Network
from gradcore.result import Summary
from gradcore.slices import TraceSlice, refill
from gradcore.spec import ExperimentSpec
from gradcore.tasks.base import TaskData
from gradcore.trace import TraceBuilder


@dataclass(frozen=True)
class Evaluation:
    loss: float
    metric: float


@torch.no_grad()
def evaluate(net: Network, task: TaskData, device: torch.device, chunk: int) -> Evaluation:
    """Loss and metric on the task's held-out batch (fused path, no gradients), as means over
    examples: each chunk of at most `chunk` examples (gradcore.estimate.eval_chunk_size sizes
    it by bytes) has its mean weighted by its size."""
    batch = task.eval_batch()
    size = batch.inputs.shape[1]
    loss_sum = metric_sum = 0.0
    for start in range(0, size, chunk):
        part = slice(start, start + chunk)
        inputs = batch.inputs[:, part].to(device)  # (T, b, input_size)
        targets = batch.targets[:, part] if task.every_step else batch.targets[part]
        targets = targets.to(device)
        logits = net.readout(_eval_features(net, task, inputs))
        count = inputs.shape[1]
        loss_sum += float(task.loss(logits, targets)) * count
        metric_sum += float(task.metric(logits, targets)) * count
    return Evaluation(loss_sum / size, metric_sum / size)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return str(device)


def _eval_features(net: Network, task: TaskData, inputs: Tensor) -> Tensor:
    """What the readout reads: (T, b, H) for every-step tasks, else the last step's (b, H).
    Last-step tasks keep no top-layer sequence (as in training): at T = 3000 and the eval
    set's 699 sequences it was 1 GiB, stacked from a list of as much."""
    features, states = net(inputs, None, keep_sequence=task.every_step)
    return features if task.every_step else net.last_features(features, states)


def build_summary(
    *,
    facts: RunFacts,
    trace: TraceBuilder,
    outcome: str,
    diverged_at: int | None = None,
    diverged_reason: str | None = None,
    evaluation: Evaluation | None = None,
    solved: bool = False,
    radius_end: dict[str, float] | None = None,
    wall_time_s: float,
) -> Summary:
    """The summary of a run from its facts and traces. `radius_end` is None for a run that was
    killed inside a step (its last weights are gone): reported as an empty mapping."""
    steps_completed = len(trace.steps)
    return Summary(
        outcome=outcome,
        steps_completed=steps_completed,
        final_loss=trace.loss[-1] if trace.loss else None,
        final_metric=trace.metric[-1] if trace.metric else None,
        eval_loss=None if evaluation is None else evaluation.loss,
        eval_metric=None if evaluation is None else evaluation.metric,
        metric_name=facts.metric_name,
        baseline_loss=facts.baseline_loss,
        solved=solved,
        solved_criterion=facts.solved_criterion,
        diverged_at=diverged_at,
        diverged_reason=diverged_reason,
        spectral_radius_start=facts.radius_start,
        spectral_radius_end=radius_end or {},
        gradient_horizon=trace.horizons,
        wall_time_s=wall_time_s,
        steps_per_second=steps_completed / wall_time_s if wall_time_s > 0 else 0.0,
        device=facts.device,
        torch_version=torch.__version__,
        parameters=facts.parameters,
    )


def summarise_stored(
    spec: ExperimentSpec, traces: TraceSlice, facts: RunFacts, wall_time_s: float
) -> Summary:
    """The summary of a run stopped from outside inside a step (cancelled, past its time
    limit): what its stored traces and start facts say; no evaluation, no final spectrum."""
    hidden = traces["hidden_grad"]
    trace = TraceBuilder(
        list(traces["grad_norm"]["per_param"]),
        list(traces["weight_change"]["per_layer"]),
        hidden["layers"],
        hidden["time_steps"],
        spec.horizon_fraction,
    )
    refill(traces, trace, None, None)
    return build_summary(facts=facts, trace=trace, outcome="stopped", wall_time_s=wall_time_s)

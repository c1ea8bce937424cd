"""One forward and backward pass over a batch: full or truncated BPTT, probed or not.

Truncated BPTT splits the T steps into chunks of k that end at T (gradcore.truncation draws
both truncated forms), runs backward after each chunk and detaches the carried state, so no
gradient crosses a chunk boundary. Each chunk's loss is its share of the whole-sequence mean,
so the accumulated gradient equals full BPTT's when k >= T, and the reported loss is always
the whole sequence's mean. TBPTT(k1, k2) runs in gradcore.truncation.

A probe step of a task with a recall phase (copy) also records the gradient of the recall
phase's loss terms alone, by a second backward pass through the same graph before the first:
its horizon speaks about memory where the whole loss's cannot (gradcore.probes). It costs one
more backward pass on those probe steps only.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from gradcore.cells import detach_state
from gradcore.model import Network
from gradcore.probes import HiddenGradNorms
from gradcore.spec import TrainingSpec
from gradcore.tasks.base import Batch, TaskData
from gradcore.truncation import WindowGradNorms, chunk_bounds, windowed_forward_backward


@dataclass(frozen=True)
class StepOutput:
    loss: Tensor  # 0-d, detached: the batch mean loss
    metric: Tensor  # 0-d, detached
    hidden_grad_norms: Tensor | None  # (layers, T) float64 on probe steps
    # (layers, T) float64: |dL_recall/dh_t| on probe steps of tasks with a recall phase
    recall_grad_norms: Tensor | None = None


def records_recall(training: TrainingSpec, task: TaskData) -> bool:
    """Whether probe steps record the recall phase's gradient: tasks with a recall phase under
    full or chunked BPTT (TBPTT(k1, k2) and UORO do not)."""
    return task.every_step and task.recall_steps > 0 and training.mode in ("bptt", "tbptt")


def chunk_length(training: TrainingSpec, time_steps: int) -> int:
    return training.tbptt_k if training.mode == "tbptt" else time_steps


def forward_backward(
    net: Network, task: TaskData, batch: Batch, training: TrainingSpec, probe: bool
) -> StepOutput:
    """Accumulate d(loss)/d(params) into .grad (callers zero them first). A probe step runs
    the unrolled path, whose hooks record |dL/dh_t|."""
    inputs, targets = batch.inputs, batch.targets
    time_steps, batch_size = inputs.shape[0], inputs.shape[1]
    if training.mode == "tbptt_k1k2":  # recurrent cells only (the spec says so)
        layers = len(net.probe_layers)
        windows = WindowGradNorms(layers, time_steps, inputs.device) if probe else None
        scored = windowed_forward_backward(net, task, batch, training, windows)
        with torch.no_grad():
            metric = task.metric(scored.logits, targets)
        return StepOutput(scored.loss, metric, None if windows is None else windows.norms)
    k = net.steps_per_call(chunk_length(training, time_steps), time_steps)
    recorder = recall = None
    if probe:
        probed = net.time_steps(time_steps)
        recorder = HiddenGradNorms(len(net.probe_layers), probed, inputs.device)
        if records_recall(training, task):
            recall = torch.zeros_like(recorder.norms)

    states = None
    total_loss = inputs.new_zeros(())
    every_step_logits: list[Tensor] = []
    last_logits = None
    for start, end in chunk_bounds(time_steps, k):
        # Last-step tasks read only the top layer's final state: no stacked (T, B, H) sequence.
        features, states = net(
            inputs[start:end],
            states,
            recorder,
            start,
            task.every_step,
            unrolled=probe,
            checkpoint=training.checkpoint,
        )
        if task.every_step:
            assert features is not None  # kept: every_step reads the whole sequence
            logits = net.readout(features)  # (T_chunk, B, C)
            chunk_loss = task.loss(logits, targets[start:end], reduction="sum")
            chunk_loss = chunk_loss / (time_steps * batch_size)
            every_step_logits.append(logits.detach())
            if recall is not None:
                assert recorder is not None  # recall is made with the recorder
                first = max(time_steps - task.recall_steps, start)  # the chunk's recall steps
                with recorder.into(recall):
                    terms = time_steps * batch_size
                    _recall_backward(net, task, logits[first - start :], targets[first:end], terms)
        elif end == time_steps:
            last_logits = net.readout(net.last_features(features, states))  # (B, C)
            chunk_loss = task.loss(last_logits, targets)
        else:
            chunk_loss = None  # the loss is at the end: this chunk gets no gradient
        if chunk_loss is not None:
            chunk_loss.backward()
            total_loss = total_loss + chunk_loss.detach()
        states = [detach_state(s) for s in states]

    with torch.no_grad():
        logits = torch.cat(every_step_logits) if task.every_step else last_logits.detach()
        metric = task.metric(logits, targets)
    norms = None if recorder is None else recorder.norms
    return StepOutput(total_loss, metric, norms, recall)


def _recall_backward(
    net: Network, task: TaskData, logits: Tensor, targets: Tensor, terms: int
) -> None:
    """Backpropagate the recall phase's loss terms of a chunk, logits (R, B, C) and targets
    (R, B) with R of them in the chunk (none: nothing to do), as their share of the mean over
    `terms` = T x B, keeping the graph for the whole loss's backward. autograd.grad leaves the
    parameters' .grad as they are; the recorder's hooks on h_t see the recall gradient."""
    if logits.shape[0] == 0:
        return
    recall_loss = task.loss(logits, targets, reduction="sum") / terms
    params = [p for p in net.parameters() if p.requires_grad]
    torch.autograd.grad(recall_loss, params, retain_graph=True, allow_unused=True)

"""One forward and backward pass over a batch: full or truncated BPTT, probed or not.

Truncated BPTT splits the T steps into chunks of k, runs backward after each chunk and
detaches the carried state, so no gradient crosses a chunk boundary. Each chunk's loss is
its share of the whole-sequence mean, so the accumulated gradient equals full BPTT's when
k >= T, and the reported loss is always the whole sequence's mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from gradcore.cells import State, detach_state, hidden_of
from gradcore.model import Network, RecurrentNet
from gradcore.probes import HiddenGradNorms
from gradcore.spec import TrainingSpec
from gradcore.tasks.base import Batch, TaskData


@dataclass(frozen=True)
class StepOutput:
    loss: Tensor  # 0-d, detached: the batch mean loss
    metric: Tensor  # 0-d, detached
    hidden_grad_norms: Tensor | None  # (layers, T) float64 on probe steps


def chunk_length(training: TrainingSpec, time_steps: int) -> int:
    return training.tbptt_k if training.mode == "tbptt" else time_steps


def checkpointed_forward(
    net: RecurrentNet,
    x: Tensor,
    states: list[State] | None,
    recorder: HiddenGradNorms | None,
    t_offset: int,
    keep_sequence: bool,
    unrolled: bool,
) -> tuple[Tensor | None, list[State]]:
    """net(x, ...) over segments of about sqrt(T) steps, each under non-reentrant checkpointing:
    the backward pass keeps only the segments' outputs (T, B, H) and boundary states and
    recomputes one segment's activations at a time. Non-reentrant checkpointing backpropagates
    through the original graph, so the recorder's hooks on h_t fire as without it."""
    time_steps = x.shape[0]
    segment = max(1, math.isqrt(time_steps))
    outputs = []
    for start in range(0, time_steps, segment):
        features, states = checkpoint(
            net,
            x[start : start + segment],
            states,
            recorder,
            t_offset + start,
            keep_sequence,
            unrolled=unrolled,
            use_reentrant=False,
        )
        outputs.append(features)  # (segment, B, H), or None without keep_sequence
    return (torch.cat(outputs) if keep_sequence else None), states


def forward_backward(
    net: Network, task: TaskData, batch: Batch, training: TrainingSpec, probe: bool
) -> StepOutput:
    """Accumulate d(loss)/d(params) into .grad (callers zero them first). A probe step runs
    the unrolled path, whose hooks record |dL/dh_t|."""
    inputs, targets = batch.inputs, batch.targets
    time_steps, batch_size = inputs.shape[0], inputs.shape[1]
    # The MLP sees the whole image at once: one probed "time step", no chunking.
    k = time_steps if net.feedforward else chunk_length(training, time_steps)
    recorder = None
    if probe:
        probe_length = 1 if net.feedforward else time_steps
        recorder = HiddenGradNorms(len(net.probe_layers), probe_length, inputs.device)

    states = None
    total_loss = inputs.new_zeros(())
    every_step_logits: list[Tensor] = []
    last_logits = None
    for start in range(0, time_steps, k):
        end = min(start + k, time_steps)
        chunk = inputs[start:end]
        # Last-step tasks read only the top layer's final state: no stacked (T, B, H) sequence.
        if net.feedforward:
            features, states = net(chunk, states, recorder, start)
        elif training.checkpoint:
            features, states = checkpointed_forward(
                net, chunk, states, recorder, start, task.every_step, unrolled=probe
            )
        else:
            features, states = net(chunk, states, recorder, start, task.every_step, unrolled=probe)
        if task.every_step:
            assert features is not None  # kept: every_step reads the whole sequence
            logits = net.readout(features)  # (T_chunk, B, C)
            chunk_loss = task.loss(logits, targets[start:end], reduction="sum")
            chunk_loss = chunk_loss / (time_steps * batch_size)
            every_step_logits.append(logits.detach())
        elif end == time_steps:
            # The top layer's final state: recurrent nets kept no sequence for this task (and a
            # slice of one would send a zero (T, B, H) gradient back through every time step).
            last = features[-1] if net.feedforward else hidden_of(states[-1])  # (B, H)
            last_logits = net.readout(last)  # (B, C)
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
    return StepOutput(total_loss, metric, norms)

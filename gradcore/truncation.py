"""Truncated BPTT in its two forms: where each loss term's gradient stops.

Chunked (`tbptt`, k): the sequence is cut into chunks of k steps that end at the last step, the
short one first; the state is carried across chunks and the gradient cut between them, so a
loss term at t reaches back to the start of its chunk. T = 12, k = 5:

    t        0  1  2  3  4  5  6  7  8  9 10 11
    chunks  [0  1][2  3  4  5  6][7  8  9 10 11]
    L_11                         <=============  h_7 .. h_11: k steps (a last-step loss)
    L_8                          <====           h_7 .. h_8: 2 steps

TBPTT(k1, k2) (`tbptt_k1k2`; Williams and Peng 1990, Sutskever 2013, section 2.8): every loss
term L_t reaches back exactly k2 steps, to h_{t-k2+1} (or to h_0 when t < k2), whatever the
other terms do. Each term gets a window of its own that starts from the carried state
h_{t-k2}, computed once by a forward pass without gradients. T = 12, k2 = 4, k1 = 3:

    t        0  1  2  3  4  5  6  7  8  9 10 11
    L_2     <=======                             h_0 .. h_2
    L_6              <==========                 h_3 .. h_6: k2 steps
    L_11                            <==========  h_8 .. h_11: k2 steps
    passes   0  1  2  3| 4  5  6| 7  8  9|10 11   the loss terms of each backward pass

The online algorithm updates the weights every k1 steps, after backpropagating the k1 loss
terms since the last update. Gradflow takes one optimizer step per batch, so here one backward
pass takes k1 loss terms (their windows stacked along the batch: (k2, k1 B, F)) and the
passes' gradients add up into that one update; the terms with t < k2 share one ordinary graph
from t = 0. The result does not depend on k1, which trades memory (k1 windows of k2 steps)
for the number of passes. A task whose loss is at the last step has one term, one window.

Both forms report the whole sequence's mean loss, and both equal full BPTT when k >= T (k2 >= T).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
from torch import Tensor

from gradcore.cells import State, hidden_of
from gradcore.recurrent import RecurrentNet
from gradcore.spec import TrainingSpec
from gradcore.tasks.base import Batch, TaskData


def chunk_bounds(time_steps: int, k: int) -> list[tuple[int, int]]:
    """[start, end) of each chunk of the chunked form: k steps each, ending at T, the short one
    (T mod k steps) first, so a loss at the last step always sees a full window of k."""
    return [(max(0, end - k), end) for end in reversed(range(time_steps, 0, -k))]


class WindowGradNorms:
    """|dL/dh_t| per layer and time step when h_t is recomputed in several windows.

    The total gradient reaching h_t is the sum of what reaches each of its copies, so each
    copy's (B, H) gradient is added up in float64 and the norm taken once no later window can
    reach t: at most k1 + k2 positions are held at a time. Positions no window reaches stay 0.
    """

    def __init__(self, layers: int, time_steps: int, device: torch.device) -> None:
        self.norms = torch.zeros(layers, time_steps, dtype=torch.float64, device=device)
        self._sums: list[dict[int, Tensor]] = [{} for _ in range(layers)]  # position -> (B, H)
        self._starts = [0]

    def begin(self, starts: list[int]) -> None:
        """The next forward pass stacks len(starts) windows along the batch, window w's first
        step at time step starts[w]."""
        self._starts = starts

    def watch(self, hidden: Tensor, layer: int, t: int) -> None:
        """hidden: (windows B, H), step t of every window (the layers' recorder interface)."""
        if hidden.requires_grad:
            positions = [start + t for start in self._starts]
            hidden.register_hook(partial(self._add, layer, positions))

    def _add(self, layer: int, positions: list[int], grad: Tensor) -> None:
        sums = self._sums[layer]
        # A complex state's gradient as its real view (B, H, 2): see probes.state_grad_norm.
        real = torch.view_as_real(grad) if grad.is_complex() else grad
        for position, part in zip(positions, real.double().chunk(len(positions)), strict=True):
            sums[position] = part if position not in sums else sums[position] + part

    def settle(self, before: int) -> None:
        """Take the norms of the positions before `before`: no later window reaches them."""
        for layer, sums in enumerate(self._sums):
            for position in [p for p in sums if p < before]:
                self.norms[layer, position] = torch.linalg.vector_norm(sums.pop(position))


@dataclass(frozen=True)
class Scored:
    loss: Tensor  # 0-d, detached: the whole sequence's mean loss
    logits: Tensor  # detached: (T, B, C) for every-step tasks, (B, C) for the others


class CarriedStates:
    """The state after each time step, from a forward pass without gradients, advanced on
    demand (positions asked for in increasing order), so only the current one is held."""

    def __init__(self, net: RecurrentNet, inputs: Tensor) -> None:
        self.net, self.inputs = net, inputs  # inputs (T, B, F)
        self.position = -1  # the last step read
        self.states: list[State] | None = None  # per layer, after inputs[position]

    def after(self, step: int) -> list[State]:
        if step > self.position:
            with torch.no_grad():
                window = self.inputs[self.position + 1 : step + 1]
                _, self.states = self.net(window, self.states, None, 0, False)
            self.position = step
        assert self.states is not None and self.position == step
        return self.states


def stack_states(per_window: list[list[State]]) -> list[State]:
    """Each window's per-layer states, concatenated along the batch, layer by layer."""
    stacked: list[State] = []
    for states in zip(*per_window, strict=True):
        if isinstance(states[0], tuple):  # the LSTM's (h, c)
            stacked.append((torch.cat([s[0] for s in states]), torch.cat([s[1] for s in states])))
        else:
            stacked.append(torch.cat(states))
    return stacked


def windowed_forward_backward(
    net: RecurrentNet,
    task: TaskData,
    batch: Batch,
    training: TrainingSpec,
    recorder: WindowGradNorms | None,
) -> Scored:
    """TBPTT(k1, k2): accumulate every loss term's k2-step gradient into .grad (callers zero
    them first)."""
    time_steps = batch.inputs.shape[0]
    k2 = min(training.tbptt_k2, time_steps)
    first = 0 if task.every_step else time_steps - 1  # the loss terms are t = first .. T - 1
    passes: list[Scored] = []
    if first < k2:
        passes.append(_from_start(net, task, batch, k2, recorder))
        _settle(recorder, k2 - 1, k2)
    carried = CarriedStates(net, batch.inputs)
    for start in range(max(first, k2), time_steps, training.tbptt_k1):
        block = range(start, min(start + training.tbptt_k1, time_steps))
        passes.append(_windows(net, task, batch, block, k2, carried, recorder))
        _settle(recorder, block[-1], k2)
    if recorder is not None:
        recorder.settle(time_steps)
    loss = torch.stack([p.loss for p in passes]).sum()
    logits = torch.cat([p.logits for p in passes]) if task.every_step else passes[-1].logits
    return Scored(loss, logits)


def _settle(recorder: WindowGradNorms | None, last_term: int, k2: int) -> None:
    # Once the terms up to `last_term` are done, positions up to last_term - k2 + 1 are final.
    if recorder is not None:
        recorder.settle(last_term - k2 + 2)


def _from_start(
    net: RecurrentNet, task: TaskData, batch: Batch, k2: int, recorder: WindowGradNorms | None
) -> Scored:
    """The terms t < k2, whose windows all start at t = 0: one graph over the first k2 steps."""
    if recorder is not None:
        recorder.begin([0])
    features, states = net(
        batch.inputs[:k2], None, recorder, 0, task.every_step, unrolled=recorder is not None
    )
    if task.every_step:
        assert features is not None
        logits = net.readout(features)  # (k2, B, C)
    else:
        logits = net.readout(hidden_of(states[-1]))  # (B, C): k2 = T here
    return _backward(task, logits, batch, 0)


def _windows(
    net: RecurrentNet,
    task: TaskData,
    batch: Batch,
    block: range,
    k2: int,
    carried: CarriedStates,
    recorder: WindowGradNorms | None,
) -> Scored:
    """The consecutive terms `block` (all t >= k2), each in its own window of k2 steps from the
    carried state before it, the windows stacked along the batch."""
    starts = [t - k2 + 1 for t in block]
    inputs = torch.cat([batch.inputs[s : s + k2] for s in starts], dim=1)  # (k2, n B, F)
    states = stack_states([carried.after(s - 1) for s in starts])
    if recorder is not None:
        recorder.begin(starts)
    _, finals = net(inputs, states, recorder, 0, False, unrolled=recorder is not None)
    logits = net.readout(hidden_of(finals[-1]))  # (n B, C): each window's last step
    if task.every_step:
        logits = logits.view(len(block), -1, logits.shape[-1])  # (n, B, C)
    return _backward(task, logits, batch, block.start)


def _backward(task: TaskData, logits: Tensor, batch: Batch, first: int) -> Scored:
    """Backpropagate the loss terms of `logits`: every-step tasks' terms first .. first + n - 1,
    each term its share of the whole sequence's mean; the others' one term at the end."""
    targets = batch.targets
    if task.every_step:
        terms = targets[first : first + logits.shape[0]]  # (n, B)
        loss = task.loss(logits, terms, reduction="sum") / targets.numel()
    else:
        loss = task.loss(logits, targets)
    loss.backward()
    return Scored(loss.detach(), logits.detach())

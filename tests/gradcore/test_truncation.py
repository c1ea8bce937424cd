"""Both truncated-BPTT forms against brute force: for every loss term, a plain loop over torch's
own cells that starts from the detached state where that term's window begins, in float64.

Chunked (k): a term's window starts at its chunk's start, the chunks ending at T.
TBPTT(k1, k2): a term at t has the window t - k2 + 1 .. t (from 0 when t < k2).
The truncated gradient is the sum over terms of those windows' gradients; dL/dh_t the sum of
what reaches h_t from every window that holds it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

import gradcore
from gradcore.spec import TrainingSpec
from gradcore.step import forward_backward
from gradcore.tasks.base import Batch, TaskData
from gradcore.truncation import chunk_bounds
from tests.gradcore.helpers import param_grads, setup, small_spec, torch_cell

BATCH = 3
# A term's window start, from the term's time step and T.
WindowStart = Callable[[int, int], int]


def torch_cells(net) -> list[nn.Module]:
    """torch.nn's *Cell modules sharing each layer's parameters."""
    return [torch_cell(layer) for layer in net.layers]


def step_cells(cells, x_t, states):
    """One time step through the stack: the new per-layer states and each layer's h (B, H)."""
    new_states, hiddens = [], []
    for cell, state in zip(cells, states, strict=True):
        state = cell(x_t, state)
        x_t = state[0] if isinstance(state, tuple) else state
        new_states.append(state)
        hiddens.append(x_t)
    return new_states, hiddens


def brute_force(net, task: TaskData, batch: Batch, window_start: WindowStart):
    """Per loss term: the states before its window without gradients, then its window with
    them, its loss backpropagated alone. Returns (parameter gradients, (layers, T) norms of the
    summed dL/dh_t, the whole-sequence loss)."""
    cells = torch_cells(net)
    x, targets = batch.inputs, batch.targets
    time_steps = x.shape[0]
    terms = range(time_steps) if task.every_step else [time_steps - 1]
    sums = torch.zeros(len(cells), time_steps, *x.shape[1:2], net.layers[0].hidden_size).double()
    total = 0.0
    net.zero_grad()
    for t in terms:
        start = window_start(t, time_steps)
        states = [None] * len(cells)
        with torch.no_grad():
            for s in range(start):
                states, _ = step_cells(cells, x[s], states)
        watched = []
        for s in range(start, t + 1):
            states, hiddens = step_cells(cells, x[s], states)
            for h in hiddens:
                h.retain_grad()
            watched.append(hiddens)
        logits = net.readout(watched[-1][-1])  # (B, C)
        if task.every_step:
            loss = task.loss(logits[None], targets[t : t + 1], reduction="sum") / targets.numel()
        else:
            loss = task.loss(logits, targets)
        loss.backward()
        total += float(loss.detach())
        for s, hiddens in zip(range(start, t + 1), watched, strict=True):
            for layer, h in enumerate(hiddens):
                sums[layer, s] += h.grad
    norms = torch.linalg.vector_norm(sums.flatten(2), dim=2)
    return param_grads(net), norms, total


def random_batch(task: TaskData, time_steps: int) -> Batch:
    """Inputs of any length T for the task's loss (the nets do not care what the data mean)."""
    generator = torch.Generator().manual_seed(time_steps)
    inputs = torch.randn(time_steps, BATCH, task.input_size, generator=generator).double()
    if task.every_step:
        shape = (time_steps, BATCH)
        targets = torch.randint(0, task.output_size, shape, generator=generator)
    else:
        targets = torch.rand(BATCH, generator=generator).double()
    return Batch(inputs, targets)


def check_against_brute_force(
    cell: str, task_name: str, layers: int, time_steps: int, training: TrainingSpec, start
) -> torch.Tensor:
    spec = small_spec(cell=cell, task=task_name, hidden_size=4, num_layers=layers)
    net, task, _ = setup(spec)
    batch = random_batch(task, time_steps)
    expected_grads, expected_norms, expected_loss = brute_force(net, task, batch, start)
    for probe in (False, True):  # the plain steps run other kernels (the fused LSTM)
        net.zero_grad()
        out = forward_backward(net, task, batch, training, probe=probe)
        for name, grad in param_grads(net).items():
            torch.testing.assert_close(grad, expected_grads[name], rtol=1e-9, atol=1e-15, msg=name)
    torch.testing.assert_close(out.hidden_grad_norms, expected_norms, rtol=1e-9, atol=1e-15)
    assert float(out.loss) == pytest.approx(expected_loss, rel=1e-12)
    return out.hidden_grad_norms


def chunk_start(k: int) -> WindowStart:
    """Chunks of k counted back from T: t sits in the j-th from the end, which ends at T - j k."""

    def start(t: int, time_steps: int) -> int:
        end = time_steps - (time_steps - 1 - t) // k * k
        return max(0, end - k)

    return start


def k2_start(k2: int) -> WindowStart:
    return lambda t, time_steps: max(0, t - k2 + 1)


GRID = [(time_steps, k) for time_steps in range(1, 13) for k in range(1, time_steps + 3)]


@pytest.mark.parametrize(("time_steps", "k"), GRID)
def test_chunked_last_step_loss_reaches_exactly_k_steps(time_steps: int, k: int) -> None:
    training = TrainingSpec(mode="tbptt", tbptt_k=k)
    norms = check_against_brute_force("tanh", "adding", 1, time_steps, training, chunk_start(k))
    reached = min(k, time_steps)
    assert torch.all(norms[:, time_steps - reached :] > 0)
    assert torch.all(norms[:, : time_steps - reached] == 0)


@pytest.mark.parametrize(("time_steps", "k2"), GRID)
def test_k1k2_last_step_loss_reaches_exactly_k2_steps(time_steps: int, k2: int) -> None:
    training = TrainingSpec(mode="tbptt_k1k2", tbptt_k1=2, tbptt_k2=k2)
    norms = check_against_brute_force("tanh", "adding", 1, time_steps, training, k2_start(k2))
    reached = min(k2, time_steps)
    assert torch.all(norms[:, time_steps - reached :] > 0)
    assert torch.all(norms[:, : time_steps - reached] == 0)


@pytest.mark.parametrize("cell", ["tanh", "lstm", "gru"])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize(("time_steps", "k1", "k2"), [(9, 1, 3), (9, 2, 3), (9, 4, 1), (7, 3, 9)])
def test_k1k2_every_step_is_the_sum_of_each_terms_k2_window(
    cell: str, layers: int, time_steps: int, k1: int, k2: int
) -> None:
    training = TrainingSpec(mode="tbptt_k1k2", tbptt_k1=k1, tbptt_k2=k2)
    check_against_brute_force(cell, "copy", layers, time_steps, training, k2_start(k2))


@pytest.mark.parametrize("cell", ["tanh", "lstm"])
@pytest.mark.parametrize(("time_steps", "k"), [(9, 4), (9, 3), (5, 7)])
def test_chunked_every_step_cuts_each_term_at_its_chunk(cell: str, time_steps: int, k: int) -> None:
    training = TrainingSpec(mode="tbptt", tbptt_k=k)
    check_against_brute_force(cell, "copy", 2, time_steps, training, chunk_start(k))


def test_k1_does_not_change_the_gradient() -> None:
    spec = small_spec(cell="gru", task="copy", seq_len=3, num_layers=2)
    net, task, batch = setup(spec)
    outputs = []
    for k1 in (1, 5, 100):
        net.zero_grad()
        training = TrainingSpec(mode="tbptt_k1k2", tbptt_k1=k1, tbptt_k2=6)
        out = forward_backward(net, task, batch, training, probe=True)
        outputs.append((param_grads(net), out))
    (first_grads, first), *others = outputs
    for grads, out in others:
        torch.testing.assert_close(out.hidden_grad_norms, first.hidden_grad_norms)
        # The same terms summed in other groupings: equal up to rounding.
        torch.testing.assert_close(out.loss, first.loss, rtol=1e-14, atol=0)
        assert torch.equal(out.metric, first.metric)
        for name, grad in grads.items():
            torch.testing.assert_close(grad, first_grads[name], msg=name)


@pytest.mark.parametrize(
    ("time_steps", "k", "bounds"),
    [
        (12, 5, [(0, 2), (2, 7), (7, 12)]),
        (10, 5, [(0, 5), (5, 10)]),
        (3, 7, [(0, 3)]),
        (4, 1, [(0, 1), (1, 2), (2, 3), (3, 4)]),
    ],
)
def test_chunks_end_at_t_the_short_one_first(time_steps: int, k: int, bounds: list) -> None:
    assert chunk_bounds(time_steps, k) == bounds


@pytest.mark.parametrize(
    "training", [{"mode": "tbptt", "tbptt_k": 5}, {"mode": "tbptt_k1k2", "tbptt_k2": 5}]
)
def test_a_run_records_the_truncated_curve_and_the_whole_loss(training: dict) -> None:
    """Through the training loop, T = 12: the probed curve is nonzero at the last 5 steps only,
    and the loss is the whole sequence's, as full BPTT's."""
    full = gradcore.run(small_spec(steps=1))
    result = gradcore.run(small_spec(steps=1, training=training))
    curve = result.hidden_grad.norm[0][0]
    assert [value > 0 for value in curve] == [False] * 7 + [True] * 5
    assert result.loss.loss == pytest.approx(full.loss.loss, rel=1e-6)
    assert result.loss.metric == full.loss.metric

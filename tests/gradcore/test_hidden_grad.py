"""|dL/dh_t| from the hooked unrolled loop against independent computations:
plain autograd with retain_grad on torch's own cells, and the closed form of a linear recurrence."""

from __future__ import annotations

import pytest
import torch

from gradcore.spec import TrainingSpec
from gradcore.step import forward_backward
from gradcore.tasks.base import Batch
from tests.gradcore.helpers import retained_states, setup, small_spec

CELLS = ["tanh", "relu", "irnn", "lstm", "gru", "indrnn"]


def reference_hidden_grads(net, task, batch) -> torch.Tensor:
    """(layers, T) norms of dL/dh_t via retain_grad, stepping torch.nn's *Cell modules (or the
    IndRNN formula) that share the network's parameters."""
    x = batch.inputs
    hiddens: list[list[torch.Tensor]] = []
    for layer in net.layers:
        hiddens.append(retained_states(layer, x))
        x = torch.stack(hiddens[-1])
    if task.every_step:
        loss = task.loss(net.readout(x), batch.targets)
    else:
        loss = task.loss(net.readout(x[-1]), batch.targets)
    loss.backward()
    return torch.tensor(
        [[h.grad.norm().item() for h in steps] for steps in hiddens], dtype=torch.float64
    )


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("task", ["adding", "copy"])
def test_hidden_grad_norms_match_retain_grad(cell: str, task: str) -> None:
    spec = small_spec(cell=cell, task=task, seq_len=6, num_layers=2)
    net, task_data, batch = setup(spec)
    out = forward_backward(net, task_data, batch, spec.training, probe=True)
    net.zero_grad()
    expected = reference_hidden_grads(net, task_data, batch)
    assert out.hidden_grad_norms.shape == (2, spec.sequence_length)
    torch.testing.assert_close(out.hidden_grad_norms.cpu(), expected, rtol=1e-9, atol=0)


@pytest.mark.parametrize("a", [0.5, 0.9, 1.0, 1.3])
def test_linear_recurrence_scales_by_a_per_step(a: float) -> None:
    """W_hh = a*I with positive inputs, positive input weights and zero biases keeps every ReLU
    in its linear region, so dL/dh_t = a * dL/dh_{t+1} exactly for a loss at the last step."""
    spec = small_spec(cell="irnn", seq_len=30, init={"recurrent_scale": a})
    net, task, batch = setup(spec)
    with torch.no_grad():
        net.layers[0].rnn.weight_ih_l0.abs_()
    out = forward_backward(net, task, batch, spec.training, probe=True)
    norms = out.hidden_grad_norms[0]
    assert torch.all(norms > 0)
    ratios = norms[:-1] / norms[1:]
    # The weights were initialised in float32: compare with a as float32 stores it.
    a_stored = float(torch.tensor(a, dtype=torch.float32))
    torch.testing.assert_close(ratios, torch.full_like(ratios, a_stored), rtol=1e-10, atol=0)


def test_float32_underflow_is_reported_as_exact_zeros() -> None:
    """0.5^150 is below float32's smallest subnormal: the early gradients are exactly 0 in
    float32 and are reported as 0.0, at their time steps, not dropped."""
    spec = small_spec(cell="irnn", seq_len=200, init={"recurrent_scale": 0.5})
    net, task, batch = setup(spec)
    net = net.float()
    with torch.no_grad():
        net.layers[0].rnn.weight_ih_l0.abs_()
    batch = Batch(batch.inputs.float(), batch.targets.float())
    norms = forward_backward(net, task, batch, spec.training, probe=True).hidden_grad_norms[0]
    assert norms.shape == (200,)
    assert torch.all(norms[:40] == 0.0)
    assert torch.all(norms[-100:] > 0.0)
    # Where float32 still represents the gradient normally, the a-per-step law holds.
    ratios = norms[-60:-1] / norms[-59:]
    torch.testing.assert_close(ratios, torch.full_like(ratios, 0.5), rtol=1e-4, atol=0)


@pytest.mark.parametrize("cell", ["tanh", "lstm", "indrnn"])
def test_tbptt_cuts_the_gradient_at_chunk_boundaries(cell: str) -> None:
    """Loss at the last step: inside the last chunk dL/dh_t equals full BPTT's; before it, no
    gradient arrives (exactly 0)."""
    spec = small_spec(cell=cell, seq_len=12)
    net, task, batch = setup(spec)
    full = forward_backward(net, task, batch, TrainingSpec(mode="bptt"), probe=True)
    net.zero_grad()
    cut = forward_backward(net, task, batch, TrainingSpec(mode="tbptt", tbptt_k=5), probe=True)
    # Chunks end at T: [0,2), [2,7), [7,12); only the last holds the loss, a full window of 5.
    torch.testing.assert_close(cut.hidden_grad_norms[:, 7:], full.hidden_grad_norms[:, 7:])
    assert torch.all(cut.hidden_grad_norms[:, :7] == 0)
    torch.testing.assert_close(cut.loss, full.loss)


def test_tbptt_with_k_at_least_t_is_full_bptt() -> None:
    spec = small_spec(cell="gru", task="copy", seq_len=4)
    net, task, batch = setup(spec)
    full = forward_backward(net, task, batch, TrainingSpec(mode="bptt"), probe=True)
    full_grads = [p.grad.clone() for p in net.parameters()]
    net.zero_grad()
    cut = forward_backward(net, task, batch, TrainingSpec(mode="tbptt", tbptt_k=100), probe=True)
    torch.testing.assert_close(cut.hidden_grad_norms, full.hidden_grad_norms)
    for expected, p in zip(full_grads, net.parameters(), strict=True):
        torch.testing.assert_close(p.grad, expected)

"""The recall phase's gradient (copy) against plain autograd: retain_grad on torch's own cells,
backpropagating the recall steps' loss terms alone."""

from __future__ import annotations

import pytest
import torch

import gradcore
from gradcore.probes import gradient_horizon
from gradcore.spec import TrainingSpec
from gradcore.step import forward_backward
from tests.gradcore.helpers import param_grads, retained_states, setup, small_spec

RECALL = 10  # copy's recall phase: its last 10 steps


def reference_recall_grads(net, task, batch) -> torch.Tensor:
    """(layers, T) norms of d(recall loss)/dh_t, the recall loss being the last RECALL steps'
    terms of the whole sequence's mean cross-entropy."""
    x = batch.inputs
    hiddens: list[list[torch.Tensor]] = []
    for layer in net.layers:
        hiddens.append(retained_states(layer, x))
        x = torch.stack(hiddens[-1])
    logits, targets = net.readout(x), batch.targets
    terms = targets.numel()  # T x B
    recall_loss = task.loss(logits[-RECALL:], targets[-RECALL:], reduction="sum") / terms
    recall_loss.backward()
    return torch.tensor(
        [[h.grad.norm().item() for h in steps] for steps in hiddens], dtype=torch.float64
    )


@pytest.mark.parametrize("cell", ["tanh", "lstm", "gru"])
def test_recall_gradient_matches_retain_grad_and_leaves_the_step_alone(cell: str) -> None:
    spec = small_spec(cell=cell, task="copy", seq_len=6, num_layers=2)
    net, task, batch = setup(spec)
    plain = forward_backward(net, task, batch, spec.training, probe=False)
    unprobed = param_grads(net)
    net.zero_grad()
    probed = forward_backward(net, task, batch, spec.training, probe=True)
    # The second pass changes neither the parameters' gradient nor the whole loss's curves.
    for name, grad in param_grads(net).items():
        torch.testing.assert_close(grad, unprobed[name], rtol=1e-12, atol=0)
    torch.testing.assert_close(probed.loss, plain.loss)
    net.zero_grad()
    expected = reference_recall_grads(net, task, batch)
    assert probed.recall_grad_norms.shape == (2, spec.sequence_length)
    torch.testing.assert_close(probed.recall_grad_norms, expected, rtol=1e-9, atol=0)
    # The whole loss reaches every step directly; the recall terms reach the symbols only
    # through the recurrence, so their gradient there is smaller.
    assert torch.all(probed.recall_grad_norms[:, :RECALL] < probed.hidden_grad_norms[:, :RECALL])


def test_chunked_bptt_cuts_the_recall_gradient_at_its_chunks() -> None:
    """Chunks of 5 ending at T = 26: the recall steps 16..25 fill the last two chunks, and
    before step 16 no recall gradient arrives (exactly 0)."""
    spec = small_spec(task="copy", seq_len=6)
    net, task, batch = setup(spec)
    out = forward_backward(net, task, batch, TrainingSpec(mode="tbptt", tbptt_k=5), probe=True)
    recall = out.recall_grad_norms[0]
    assert torch.all(recall[:16] == 0) and torch.all(recall[16:] > 0)


def test_a_copy_run_traces_the_recall_horizon_of_each_probe() -> None:
    spec = small_spec(task="copy", seq_len=30, steps=3, probe_every=2)
    result = gradcore.run(spec)
    hidden = result.hidden_grad
    assert hidden.step == [0, 2] and len(hidden.recall_horizon) == 2
    net, task, batch = setup(spec)
    expected = reference_recall_grads(net, task, batch)[0].tolist()
    assert hidden.recall_horizon[0] == [gradient_horizon(expected, spec.horizon_fraction)]
    # The whole loss's horizon is the whole sequence by construction; the recall phase's
    # falls short of the symbols 30 steps before it.
    assert hidden.horizon[0] == [spec.sequence_length] > hidden.recall_horizon[0]
    assert result.summary.gradient_horizon == hidden.horizon  # the summary is unchanged
    adding = gradcore.run(small_spec(steps=1))
    assert adding.hidden_grad.recall_horizon is None

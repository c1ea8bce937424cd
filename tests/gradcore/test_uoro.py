"""UORO: its estimate is unbiased. Averaged over every equally likely draw of the random signs
(2^(state size x T) of them on a tiny net), it equals the BPTT gradient to float64 rounding."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch.utils._pytree import tree_flatten, tree_unflatten

import gradcore
from gradcore.step import forward_backward
from gradcore.tasks.base import Batch
from gradcore.uoro import uoro_gradient, zero_states
from tests.gradcore.helpers import setup, small_spec

STEPS = 3


def every_sign_draw(leaves: list[torch.Tensor]) -> list[list[torch.Tensor]]:
    """Every +-1 assignment to the state entries at each of STEPS steps, as (STEPS, ...) leaves."""
    size = sum(leaf.numel() for leaf in leaves)
    draws = []
    for bits in itertools.product([-1.0, 1.0], repeat=STEPS * size):
        flat = torch.tensor(bits, dtype=torch.float64).reshape(STEPS, size)
        pieces = flat.split([leaf.numel() for leaf in leaves], dim=1)
        draws.append(
            [p.reshape(STEPS, *leaf.shape) for p, leaf in zip(pieces, leaves, strict=True)]
        )
    return draws


@pytest.mark.parametrize(
    ("cell", "layers", "hidden", "task"),
    [("lstm", 1, 1, "adding"), ("gru", 2, 1, "adding"), ("tanh", 1, 2, "copy")],
)
def test_estimate_averaged_over_all_draws_is_the_bptt_gradient(
    cell: str, layers: int, hidden: int, task: str
) -> None:
    spec = small_spec(
        cell=cell, num_layers=layers, hidden_size=hidden, batch_size=1, seq_len=STEPS, task=task
    )
    net, task_data, batch = setup(spec)
    if task_data.every_step:  # copy is T + 20 long: score its first STEPS steps only
        batch = Batch(batch.inputs[:STEPS], batch.targets[:STEPS])
    bptt = forward_backward(net, task_data, batch, spec.training, probe=False)
    expected = {name: p.grad.clone() for name, p in net.named_parameters()}
    leaves, structure = tree_flatten(zero_states(net, 1, batch.inputs))
    draws = every_sign_draw(leaves)
    assert len(draws) == 2**6
    mean = {name: torch.zeros_like(grad) for name, grad in expected.items()}
    with torch.no_grad():
        for draw in draws:
            grads, loss, _ = uoro_gradient(net, task_data, batch, tree_unflatten(draw, structure))
            for name, grad in grads.items():
                mean[name] += grad / len(draws)
    torch.testing.assert_close(loss, bptt.loss, rtol=1e-12, atol=0)
    for name, grad in expected.items():
        torch.testing.assert_close(mean[name], grad, rtol=1e-10, atol=1e-12, msg=name)
    # One draw alone is not the gradient: the agreement comes from the average.
    recurrent = "layers.0.rnn.weight_hh_l0"
    assert not torch.allclose(grads[recurrent], expected[recurrent])


def test_uoro_run_trains_and_probes_with_bptt() -> None:
    spec = small_spec(cell="tanh", training={"mode": "uoro"}, steps=3, optimizer={"lr": 0.01})
    result = gradcore.run(spec)
    again = gradcore.run(spec)
    assert result.summary.outcome == "completed"
    assert result.grad_norm.total == again.grad_norm.total  # seeded signs: deterministic
    assert result.hidden_grad.step == [0, 2]
    assert all(value > 0 for value in result.hidden_grad.norm[0][0])
    assert result.weight_change.per_layer["layer0.weight_hh"][0] > 0

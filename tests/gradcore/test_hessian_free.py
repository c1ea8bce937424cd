"""Hessian-free: on a fixed batch where plain SGD stalls at the adding task's baseline, HF's
curvature-scaled steps keep lowering the loss; its CG never exceeds cg_max_iters."""

from __future__ import annotations

import itertools

import pytest
from pydantic import ValidationError

import gradcore
from gradcore.hessian_free import HessianFree
from gradcore.optim import build_optimizer
from gradcore.step import forward_backward
from tests.gradcore.helpers import setup, small_spec

STEPS = 12


def losses_on_one_batch(optimizer: dict[str, object]) -> list[float]:
    spec = small_spec(seq_len=10, batch_size=16, optimizer=optimizer)
    net, task, batch = setup(spec)
    hf = HessianFree(spec.optimizer, net) if spec.optimizer.name == "hessian_free" else None
    sgd = build_optimizer(spec.optimizer, list(net.parameters()))
    losses = []
    for step in range(STEPS):
        net.zero_grad(set_to_none=False)
        loss = float(forward_backward(net, task, batch, spec.training, probe=False).loss)
        losses.append(loss)
        if hf is not None:
            hf.step(step, task, batch, loss)
        else:
            sgd.step()
    return losses


def test_hf_lowers_the_loss_where_sgd_stalls() -> None:
    sgd = losses_on_one_batch({"name": "sgd", "lr": 0.1})
    hf = losses_on_one_batch({"name": "hessian_free", "lr": 1.0, "cg_max_iters": 20})
    assert sgd[0] == hf[0]
    # SGD: the predict-the-mean plateau (MSE ~ 1/6 on fresh data), barely moving.
    assert sgd[-1] > 0.1 and sgd[-4] - sgd[-1] < 0.01
    assert hf[-1] < 0.3 * sgd[-1]
    assert all(later <= earlier for earlier, later in itertools.pairwise(hf))


def test_cg_stays_within_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    products: list[tuple[int, int]] = []
    solve = HessianFree._conjugate_gradient

    def counting(self, matvec, b):
        calls = [0]

        def counted(v):
            calls[0] += 1
            return matvec(v)

        x, iterations = solve(self, counted, b)
        products.append((calls[0], iterations))
        return x, iterations

    monkeypatch.setattr(HessianFree, "_conjugate_gradient", counting)
    optimizer = {"name": "hessian_free", "lr": 1.0, "cg_max_iters": 4}
    result = gradcore.run(small_spec(cell="gru", steps=4, optimizer=optimizer))
    trace = result.hessian_free
    assert trace.step == [0, 1, 2, 3]
    assert trace.cg_iterations == [iterations for _, iterations in products]
    # One product for the starting residual, then one per iteration.
    assert all(calls == iterations + 1 <= 5 for calls, iterations in products)
    assert max(trace.cg_iterations) == 4
    assert trace.damping[0] == 1.0
    assert gradcore.run(small_spec(steps=1)).hessian_free is None


def test_spec_round_trips_and_hf_fields_need_hessian_free() -> None:
    for optimizer in ({"name": "hessian_free", "damping": 3.0}, {"name": "adam"}):
        spec = small_spec(optimizer=optimizer)
        assert type(spec).model_validate(spec.model_dump()) == spec
    with pytest.raises(ValidationError, match="apply to hessian_free only"):
        small_spec(optimizer={"name": "adam", "cg_max_iters": 10})

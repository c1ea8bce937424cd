"""run(probe_steps=...) replaces the spec's probe steps; probes never change the trajectory."""

from __future__ import annotations

import pytest

import gradcore
from tests.gradcore.helpers import small_spec


@pytest.mark.parametrize("cell", ["tanh", "gru", "lstm", "indrnn"])
def test_probe_steps_override_and_leave_training_unchanged(cell: str) -> None:
    spec = small_spec(cell=cell, steps=5, probe_every=2)
    probed = gradcore.run(spec)
    bare = gradcore.run(spec, probe_steps=set())
    assert probed.hidden_grad.step == [0, 2, 4]
    assert bare.hidden_grad.step == [] and bare.hidden_grad.norm == []
    assert bare.loss.loss == pytest.approx(probed.loss.loss, rel=1e-5)
    assert bare.grad_norm.total == pytest.approx(probed.grad_norm.total, rel=1e-5)

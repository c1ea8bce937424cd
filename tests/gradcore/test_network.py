"""The caller, not the presence of a recorder, picks a recurrent layer's path."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from gradcore import layers
from gradcore.probes import HiddenGradNorms
from tests.gradcore.helpers import setup, small_spec


def test_a_recorder_needs_the_unrolled_path() -> None:
    net, _, batch = setup(small_spec(cell="lstm"))
    layer = net.layers[0]
    recorder = HiddenGradNorms(1, batch.inputs.shape[0], batch.inputs.device)
    with pytest.raises(ValueError, match="unrolled"):
        layer(batch.inputs, None, recorder)
    layer(batch.inputs, None, recorder, unrolled=True)


def test_unrolled_is_the_callers_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fused LSTM is the CPU's default path; unrolled=True steps ATen's cell once per time
    step with no recorder at all, as UORO and Hessian-free need, and computes the same."""
    net, _, batch = setup(small_spec(cell="lstm"))
    steps: list[int] = []
    cell = layers.ATEN_CELLS["lstm"]

    def counting(*args: Any) -> Any:
        steps.append(1)
        return cell(*args)

    monkeypatch.setitem(layers.ATEN_CELLS, "lstm", counting)
    fused, _ = net(batch.inputs, None)
    assert steps == []
    unrolled, _ = net(batch.inputs, None, unrolled=True)
    assert len(steps) == batch.inputs.shape[0]
    torch.testing.assert_close(unrolled, fused, rtol=1e-12, atol=1e-12)

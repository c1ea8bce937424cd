"""Every network answers the training loop's questions (gradcore.model.Network) consistently,
and the caller, not the presence of a recorder, picks a recurrent layer's path."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from gradcore import layers
from gradcore.probes import HiddenGradNorms
from tests.gradcore.helpers import setup, small_spec

PIXELS = {"task": "pixel_digits", "seq_len": 64, "num_layers": 2}


@pytest.mark.parametrize(
    "fields",
    [{"cell": cell, "num_layers": 2} for cell in ("tanh", "lstm", "gru", "indrnn", "esn")]
    + [{"cell": "mlp", **PIXELS}, {"cell": "cnn", **PIXELS}],
)
def test_last_features_are_the_last_step_of_the_kept_sequence(fields: dict[str, Any]) -> None:
    """A last-step task's readout input, from a call that keeps no sequence, is the last step
    of the sequence a call that keeps it returns: what the readout would read there."""
    spec = small_spec(**fields)
    net, _, batch = setup(spec)
    time_steps = batch.inputs.shape[0]
    kept, _ = net(batch.inputs, None)
    features, states = net(batch.inputs, None, keep_sequence=False)
    last = net.last_features(features, states)
    assert last.shape == (spec.batch_size, spec.hidden_size)
    torch.testing.assert_close(last, kept[-1], rtol=0, atol=0)
    # A feed-forward net reads the sequence whole: one call, one probed position per layer.
    whole = fields["cell"] in ("mlp", "cnn")
    assert net.time_steps(time_steps) == (1 if whole else time_steps)
    assert net.steps_per_call(5, time_steps) == (time_steps if whole else 5)


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

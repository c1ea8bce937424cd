"""Trace slices add up to the result, and a run resumed from a checkpoint ends number for
number as the uninterrupted run (CPU, same process settings)."""

from __future__ import annotations

from typing import Any

import pytest

import gradcore
from gradcore.checkpoint import Checkpoint
from gradcore.hooks import Resume, RunFacts, RunHooks
from gradcore.slices import TraceSlice
from gradcore.summary import summarise_stored
from tests.gradcore.helpers import small_spec
from tests.support.traces import concat, traces_of

# Timing differs between two runs of the same spec; every other number must not.
TIMING = ("wall_time_s", "steps_per_second")


def summary_of(result: gradcore.ExperimentResult) -> dict[str, Any]:
    return result.summary.model_dump(mode="json", exclude=set(TIMING))


SPECS = {
    "lstm-adam-clip": small_spec(
        cell="lstm",
        steps=12,
        probe_every=3,
        optimizer={"name": "adam", "lr": 0.01},
        clipping={"mode": "norm", "max_norm": 0.5},
    ),
    "tanh-truncated": small_spec(
        cell="tanh", steps=10, probe_every=4, training={"mode": "tbptt", "tbptt_k": 4}
    ),
    "gru-hessian-free": small_spec(
        cell="gru", steps=6, probe_every=2, optimizer={"name": "hessian_free", "cg_max_iters": 5}
    ),
    "tanh-map-probes": small_spec(
        cell="tanh",
        steps=6,
        probe_every=2,
        probes={"jacobian_norms": True, "power_iters": 3, "lyapunov_exponents": 2},
    ),
    "lstm-uoro": small_spec(cell="lstm", steps=6, probe_every=3, training={"mode": "uoro"}),
}


@pytest.mark.parametrize("name", SPECS)
def test_slices_add_up_to_the_result(name: str) -> None:
    slices: list[TraceSlice] = []
    hooks = RunHooks(on_traces=slices.append, traces_every_s=0.0)
    result = gradcore.run(SPECS[name], hooks=hooks)
    assert len(slices) >= 2
    assert concat(slices) == traces_of(result.model_dump(mode="json"))


@pytest.mark.parametrize("name", SPECS)
@pytest.mark.parametrize("at", [1, 5])
def test_a_resumed_run_equals_the_uninterrupted_one(name: str, at: int) -> None:
    spec = SPECS[name]
    whole = gradcore.run(spec)

    # The first life: slices as they come, a checkpoint before step `at`, then a stop (as if
    # the process were killed right after the checkpoint was stored).
    slices: list[TraceSlice] = []
    saved: list[bytes] = []
    facts: list[RunFacts] = []
    hooks = RunHooks(
        on_start=facts.append,
        on_traces=slices.append,
        traces_every_s=0.0,
        checkpoint_due=lambda: not saved and _done(slices) >= at,
        on_checkpoint=lambda checkpoint: saved.append(checkpoint.to_bytes()),
    )
    first = gradcore.run(spec, should_stop=lambda: bool(saved), hooks=hooks)
    assert first.summary.outcome == "stopped"
    checkpoint = Checkpoint.from_bytes(saved[0])
    assert checkpoint.step == at
    stored = concat(slices)
    assert stored["loss"]["step"] == list(range(at))

    resumed_slices: list[TraceSlice] = []
    resumed = gradcore.run(
        spec,
        hooks=RunHooks(on_traces=resumed_slices.append),
        resume=Resume(checkpoint, stored),
    )
    assert traces_of(resumed.model_dump(mode="json")) == traces_of(whole.model_dump(mode="json"))
    assert summary_of(resumed) == summary_of(whole)
    # What the resumed life streams continues exactly where the stored traces ended.
    assert concat([stored, *resumed_slices]) == traces_of(whole.model_dump(mode="json"))
    assert facts[0].parameters == whole.summary.parameters
    assert facts[0].radius_start == whole.summary.spectral_radius_start


def _done(slices: list[TraceSlice]) -> int:
    return sum(len(piece["loss"]["step"]) for piece in slices)


def test_a_run_killed_inside_a_step_is_summarised_from_its_stored_traces() -> None:
    spec = SPECS["lstm-adam-clip"]
    slices: list[TraceSlice] = []
    facts: list[RunFacts] = []
    result = gradcore.run(spec, hooks=RunHooks(on_start=facts.append, on_traces=slices.append))
    summary = summarise_stored(spec, concat(slices), facts[0], wall_time_s=2.0)
    expected = summary_of(result) | {
        "outcome": "stopped",
        "eval_loss": None,
        "eval_metric": None,
        "solved": False,
        "spectral_radius_end": {},
    }
    assert summary.model_dump(mode="json", exclude=set(TIMING)) == expected
    assert summary.steps_per_second == spec.steps / 2.0


def test_a_run_that_records_nothing_still_sends_its_layout() -> None:
    # W_hh = 3I with ReLU overflows in the first forward pass: no step is recorded.
    spec = small_spec(
        cell="relu", seq_len=100, init={"recurrent": "identity", "recurrent_scale": 3}
    )
    slices: list[TraceSlice] = []
    result = gradcore.run(spec, hooks=RunHooks(on_traces=slices.append))
    assert result.summary.diverged_at == 0
    assert len(slices) == 1 and slices[0] == traces_of(result.model_dump(mode="json"))
    assert slices[0]["loss"]["step"] == [] and slices[0]["grad_norm"]["per_param"]

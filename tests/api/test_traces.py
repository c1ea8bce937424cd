"""Traces stored slice by slice: read back whole, by range, downsampled; fenced; truncated.
On SQLite and on PostgreSQL (`database_sessions`)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

import gradcore
from gradcore.spec import ExperimentSpec
from jobs import store
from jobs import trace_format as fmt
from jobs.models import Job
from jobs.result_view import RESULT_FIELDS, SERIES
from jobs.traces import append_slice, load_traces, read_view, truncate_after
from tests.support.specs import TINY_SPEC
from tests.support.traces import long_run, slice_between, traces_of, view_result

SMALL = {"task": "adding", "seq_len": 8, "hidden_size": 4, "batch_size": 4}
LONG_STEPS = 3000  # about three blocks
STEP_PARTS = ("loss", "grad_norm", "weight_change")


@pytest.fixture(scope="module")
def documents() -> dict[str, dict[str, Any]]:
    """Result documents: probes with dynamics (eigenvalues too), Hessian-free, copy's recall
    phase, and a long synthetic run."""
    probes = {"jacobian_norms": True, "lyapunov_exponents": 2, "eigenvalues": True}
    probed = ExperimentSpec(cell="tanh", steps=40, probe_every=3, probes=probes, **SMALL)
    optimizer = {"name": "hessian_free", "lr": 1.0}
    hessian_free = ExperimentSpec(cell="tanh", steps=6, optimizer=optimizer, **SMALL)
    copy = ExperimentSpec(cell="lstm", steps=12, probe_every=3, **{**SMALL, "task": "copy"})
    runs = {
        "probed": gradcore.run(probed).model_dump(mode="json"),
        "hessian_free": gradcore.run(hessian_free).model_dump(mode="json"),
        "copy": gradcore.run(copy).model_dump(mode="json"),
    }
    long = long_run(runs["probed"], LONG_STEPS, probe_every=100)
    runs["long"] = {**long, "summary": runs["probed"]["summary"]}
    return runs


def running_job(sessions: sessionmaker[Session]) -> tuple[str, int]:
    with sessions() as session:
        job = store.create_job(session, ExperimentSpec(**TINY_SPEC))
        return job.id, store.start_job(session, job.id, "w@test")


def store_run(
    sessions: sessionmaker[Session], document: dict[str, Any], cuts: list[int] = ()
) -> str:
    """A finished job whose traces were appended in slices cut before the steps in `cuts`."""
    job_id, attempt = running_job(sessions)
    bounds = [0, *sorted(set(cuts)), 10**9]
    with sessions() as session:
        for low, high in itertools.pairwise(bounds):
            slice_ = slice_between(traces_of(document), low, high)
            assert append_slice(session, job_id, attempt, slice_)
        summary = gradcore.result.Summary.model_validate(document["summary"])
        assert store.finish_job(session, job_id, summary, attempt)
    return job_id


@hypothesis_settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.sampled_from(["probed", "hessian_free", "copy", "long"]),
    cuts=st.lists(st.integers(0, LONG_STEPS), max_size=8),
)
def test_appended_slices_read_back_as_their_concatenation(
    database_sessions, documents, name: str, cuts: list[int]
) -> None:
    document = documents[name]
    job_id = store_run(database_sessions, document, cuts)
    with database_sessions() as session:
        assert load_traces(session, job_id) == traces_of(document)
        assert read_view(session, job_id) == view_result(document)


@pytest.mark.parametrize("name", ["probed", "hessian_free", "copy", "long"])
def test_ranges_read_as_the_whole_document_cut(database_sessions, documents, name: str) -> None:
    document = documents[name]
    job_id = store_run(database_sessions, document, [5, 1024, 1500])
    with database_sessions() as session:
        for low, high in ((None, 20), (3, 3), (4, 30), (1000, 2100), (2999, None), (50, 49)):
            expected = view_result(document, RESULT_FIELDS, low, high)
            assert read_view(session, job_id, RESULT_FIELDS, low, high) == expected
        assert read_view(session, job_id, ["summary"]) == {"summary": document["summary"]}


@pytest.mark.parametrize("window", [(None, None), (700, 2400), (1024, 2047), (10, 900)])
@pytest.mark.parametrize("max_points", [2, 7, 40, 300])
def test_downsampled_reads_keep_the_ends_and_every_extreme(
    database_sessions, documents, window: tuple[int | None, int | None], max_points: int
) -> None:
    document = documents["long"]
    job_id = store_run(database_sessions, document, [700, 1800])
    low, high = window
    whole = view_result(document, RESULT_FIELDS, low, high)
    with database_sessions() as session:
        view = read_view(session, job_id, RESULT_FIELDS, low, high, max_points)
    for name in (*STEP_PARTS, "hidden_grad"):
        kept, full = view[name], whole[name]
        steps = kept["step"]
        assert len(steps) <= max_points and steps == sorted(set(steps))
        assert steps[0] == full["step"][0] and steps[-1] == full["step"][-1]
        # Aligned: each kept entry is the full trace's entry at that step.
        rows = [full["step"].index(step) for step in steps]
        assert kept == _rows(full, rows)
        if max_points >= 2 + 2 * len(SERIES[name](full)):
            for series in SERIES[name](full):
                values = [series[row] for row in rows]
                assert min(values) == min(series) and max(values) == max(series)


def _rows(part: dict[str, Any], rows: list[int]) -> dict[str, Any]:
    cut = {}
    for key, value in part.items():
        if key in ("time_steps", "layers") or value is None:
            cut[key] = value
        elif isinstance(value, dict):
            cut[key] = {name: [column[i] for i in rows] for name, column in value.items()}
        else:
            cut[key] = [value[i] for i in rows]
    return cut


def test_a_stale_attempt_stores_nothing(database_sessions, documents) -> None:
    traces = traces_of(documents["probed"])
    job_id, attempt = running_job(database_sessions)
    with database_sessions() as session:
        store.requeue_job(session, job_id)
        assert store.start_job(session, job_id, "w2@test") == attempt + 1
        version = session.get(Job, job_id).version
        assert not append_slice(session, job_id, attempt, traces)
        assert not truncate_after(session, job_id, -1, attempt)
        job = session.get(Job, job_id, populate_existing=True)
        assert (job.trace_step, job.trace_probes, job.trace_meta) == (None, 0, None)
        assert job.version == version and load_traces(session, job_id) is None
        assert append_slice(session, job_id, attempt + 1, traces)
        store.cancel_job(session, job_id)
        store.finish_job(session, job_id, gradcore.result.Summary(**documents["probed"]["summary"]))
        # Ended: nothing more is stored, even by the attempt that ran it.
        assert not append_slice(session, job_id, attempt + 1, slice_between(traces, 100, 200))
        assert load_traces(session, job_id) == traces


def test_an_append_that_repeats_stored_steps_is_refused_whole(database_sessions, documents) -> None:
    traces = traces_of(documents["long"])
    job_id, attempt = running_job(database_sessions)
    with database_sessions() as session:
        assert append_slice(session, job_id, attempt, slice_between(traces, 0, 1500))
        for low in (1499, 1400):
            with pytest.raises(ValueError, match="step"):
                append_slice(session, job_id, attempt, slice_between(traces, low, 2000))
        assert load_traces(session, job_id) == slice_between(traces, 0, 1500)


@pytest.mark.parametrize("step", [-1, 0, 99, 100, 1023, 1024, 1500, 2999, 5000])
def test_truncate_after_keeps_what_came_before(database_sessions, documents, step: int) -> None:
    traces = traces_of(documents["long"])
    job_id, attempt = running_job(database_sessions)
    with database_sessions() as session:
        assert append_slice(session, job_id, attempt, traces)
        assert truncate_after(session, job_id, step, attempt)
        kept = slice_between(traces, 0, step + 1)
        assert load_traces(session, job_id) == kept
        job = session.get(Job, job_id, populate_existing=True)
        assert job.trace_step == (None if step < 0 else min(step, LONG_STEPS - 1))
        assert job.trace_probes == len(kept["hidden_grad"]["step"])
        # A resumed run stores the rest again, and the whole reads as before.
        assert append_slice(session, job_id, attempt, slice_between(traces, step + 1, 10**9))
        assert load_traces(session, job_id) == traces


def test_thin_copies_bound_what_a_downsampled_read_considers(documents) -> None:
    # The candidates of a long range are a small fraction of its rows, yet hold every extreme.
    part = documents["long"]["grad_norm"]
    layout = fmt.columns(fmt.describe(traces_of(documents["long"]))["grad_norm"])
    rows = fmt.to_rows(slice_between({"grad_norm": part}, 0, 1024)["grad_norm"], layout)
    kept = fmt.thin_indices("grad_norm", rows, layout)
    assert kept[0] == 0 and kept[-1] == 1023 and len(kept) < 1024 / 4
    for series in SERIES["grad_norm"](fmt.arrays(rows, layout)):
        assert np.argmin(series) in kept and np.argmax(series) in kept

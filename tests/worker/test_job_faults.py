"""The job runner's defences, with real child processes: a run killed mid-job resumes from its
checkpoint and ends number for number as an uninterrupted run; a run that exhausts its memory
fails with that reason and the next job runs; the time limit and cancel stop even a single long
step; a stale attempt (a zombie) can store nothing over the run that replaced it."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path

import pytest

import gradcore
from gradcore.slices import TRACE_PARTS
from gradcore.spec import ExperimentSpec
from jobs import store, traces
from jobs.models import Job
from tests.support.midrun import TRIES, RunState, freeze_mid_run
from tests.support.waits import scaled, wait_until
from tests.worker.test_job import (
    ENDLESS,
    STOP_S,
    TINY,
    _in_background,
    _job,
    _run,
    _submit,
    _traces,
)
from worker.job import Ending

TIMING = {"wall_time_s", "steps_per_second"}
# About a minute of CPU for its one step on two cores: a stop must not wait for it.
ONE_LONG_STEP = ExperimentSpec(
    cell="lstm", task="adding", seq_len=5000, hidden_size=1024, batch_size=16, steps=1
)


def _run_child() -> multiprocessing.Process | None:
    runs = [p for p in multiprocessing.active_children() if p.name.startswith("gradflow-run-")]
    return runs[0] if runs else None


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _in_its_step(min_cpu_s: float) -> bool:
    """The run process has used more CPU than starting up takes (about 2 s)."""
    child = _run_child()
    return child is not None and _cpu_seconds(child.pid) > min_cpu_s


def _run_in_background(settings, sessions, job_id: str) -> tuple[threading.Thread, list[Ending]]:
    endings: list[Ending] = []
    return _in_background(lambda: endings.append(_run(settings, sessions, job_id))), endings


def _frozen_mid_run(sessions, job_id: str, pid: int, steps: int) -> bool:
    def state() -> RunState:
        job = _job(sessions, job_id)
        return RunState(job.status == "running", job.checkpoint_step, job.progress_step)

    return freeze_mid_run(state, lambda sig: os.kill(pid, sig), steps=steps, timeout=60)


# Each database resumes one of the two: Adam's state with clipping, and truncated BPTT.
@pytest.mark.parametrize(
    ("spec", "database"),
    [
        pytest.param(
            ExperimentSpec(
                cell="lstm",
                task="adding",
                seq_len=20,
                hidden_size=16,
                batch_size=16,
                steps=1500,
                probe_every=250,
                optimizer={"name": "adam", "lr": 0.01},
                clipping={"mode": "norm", "max_norm": 0.5},
            ),
            "sqlite",
            id="lstm-adam-clipping-sqlite",
        ),
        pytest.param(
            ExperimentSpec(
                cell="tanh",
                task="adding",
                seq_len=30,
                hidden_size=16,
                batch_size=16,
                steps=1500,
                probe_every=250,
                training={"mode": "tbptt", "tbptt_k": 7},
            ),
            "postgresql",
            id="tanh-truncated-postgresql",
        ),
    ],
    indirect=["database"],
)
def test_a_run_killed_mid_job_resumes_and_ends_as_if_uninterrupted(
    settings, sessions, spec: ExperimentSpec
) -> None:
    frequent = settings.model_copy(update={"checkpoint_interval_s": 0.2})
    for _ in range(TRIES):
        job_id = _submit(sessions, spec)
        thread, endings = _run_in_background(frequent, sessions, job_id)
        child = wait_until(_run_child, 60, "the run's process")
        if _frozen_mid_run(sessions, job_id, child.pid, spec.steps):
            break
        thread.join(timeout=scaled(120))
    else:
        pytest.fail(f"no run was caught between a checkpoint and its end in {TRIES} tries")
    os.kill(child.pid, signal.SIGKILL)
    thread.join(timeout=scaled(120))
    assert endings == [Ending.FINISHED]

    job = _job(sessions, job_id)
    assert job.status == "succeeded", job.error
    assert len(job.resumes) == 1 and "signal 9 (SIGKILL)" in job.resumes[0]["reason"]
    assert 0 < job.resumes[0]["step"] < spec.steps
    whole = gradcore.run(spec).model_dump(mode="json")
    assert _traces(sessions, job_id) == {part: whole[part] for part in TRACE_PARTS}
    summary = {k: v for k, v in job.summary.items() if k not in TIMING}
    assert summary == {k: v for k, v in whole["summary"].items() if k not in TIMING}


@pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)
def test_a_run_out_of_memory_fails_with_the_reason_and_the_next_job_runs(
    settings, sessions
) -> None:
    capped = settings.model_copy(update={"run_address_space_bytes": 3 * 2**30})
    # Activations alone: 4000 x 1024 x 256 float32 = 4 GiB, past the 3 GiB cap.
    greedy = ExperimentSpec(
        cell="tanh", task="adding", seq_len=4000, hidden_size=256, batch_size=1024, steps=2
    )
    job_id = _submit(sessions, greedy)
    assert _run(capped, sessions, job_id) is Ending.FINISHED
    job = _job(sessions, job_id)
    assert job.status == "failed" and "out of memory" in job.error
    assert "batch_size" in job.error and job.resumes == []
    next_id = _submit(sessions, TINY)
    assert _run(capped, sessions, next_id) is Ending.FINISHED
    assert _job(sessions, next_id).status == "succeeded"


@pytest.mark.parametrize("stop", ["cancel", "time limit"])
def test_a_stop_ends_a_single_long_step_at_once(settings, sessions, stop: str) -> None:
    # The time limit falls inside the step: after start-up and some seconds of its compute.
    limit = 1e6 if stop == "cancel" else scaled(30.0)
    limited = settings.model_copy(update={"job_time_limit_s": limit})
    job_id = _submit(sessions, ONE_LONG_STEP)
    started = time.monotonic()
    thread = _in_background(lambda: _run(limited, sessions, job_id))
    wait_until(lambda: _in_its_step(5.0), 90, "the long step under way")
    if stop == "cancel":
        asked = time.monotonic()
        with sessions() as session:
            assert store.cancel_job(session, job_id)
    else:
        asked = started + limit
    thread.join(timeout=max(asked - time.monotonic(), 0) + scaled(STOP_S))
    assert not thread.is_alive()
    # Far less than the step itself takes (about a minute), however busy the machine.
    assert time.monotonic() - asked < scaled(STOP_S)
    job = _job(sessions, job_id)
    if stop == "cancel":
        assert job.status == "cancelled" and job.error is None
    else:
        assert job.status == "failed" and job.error.startswith("time limit")
        assert "GRADFLOW_JOB_TIME_LIMIT_S" in job.error
    # Killed inside its first step: nothing recorded, so nothing to summarise.
    assert job.summary is None and _traces(sessions, job_id) is None


def test_a_run_past_its_time_limit_ends_failed_with_its_partial_traces(settings, sessions) -> None:
    limited = settings.model_copy(update={"job_time_limit_s": scaled(15.0)})
    job_id = _submit(sessions, ENDLESS)
    assert _run(limited, sessions, job_id) is Ending.FINISHED
    job = _job(sessions, job_id)
    assert job.status == "failed" and job.error.startswith("time limit")
    assert 0 < job.summary["steps_completed"] < ENDLESS.steps
    assert len(_traces(sessions, job_id)["loss"]["step"]) == job.summary["steps_completed"]


def test_a_rerun_without_a_checkpoint_starts_clean(settings, sessions) -> None:
    job_id = _submit(sessions, TINY)
    with sessions() as session:
        # A first attempt stored some traces, then its worker was lost and the job re-queued.
        assert store.start_job(session, job_id, "lost@test#1") == 1
        first = gradcore.run(TINY.model_copy(update={"steps": 5})).model_dump(mode="json")
        assert traces.append_slice(session, job_id, 1, {p: first[p] for p in TRACE_PARTS})
        store.update_jobs(session, Job.id == job_id, **store.NOT_STARTED)
    assert _run(settings, sessions, job_id) is Ending.FINISHED
    job = _job(sessions, job_id)
    assert job.status == "succeeded" and job.attempts == 2
    assert job.resumes[0]["step"] == 0 and "interrupted" in job.resumes[0]["reason"]
    assert _traces(sessions, job_id)["loss"]["step"] == list(range(TINY.steps))


def test_a_zombie_worker_cannot_store_over_the_run_that_replaced_it(sessions) -> None:
    trained = gradcore.run(TINY)
    document = trained.model_dump(mode="json")
    job_id = _submit(sessions, TINY)
    with sessions() as session:
        assert store.start_job(session, job_id, "zombie@test#1") == 1
        store.update_jobs(session, Job.id == job_id, **store.NOT_STARTED)
        assert store.start_job(session, job_id, "w@test#2") == 2
        # The zombie is told to stop, and what it tries to store is refused.
        assert store.stop_reason(session, job_id, attempt=1) == "gone"
        assert store.stop_reason(session, job_id, attempt=2) is None
        assert not traces.append_slice(session, job_id, 1, {p: document[p] for p in TRACE_PARTS})
        assert store.finish_job(session, job_id, trained.summary, attempt=1) is None
        assert traces.load_traces(session, job_id) is None
        assert store.finish_job(session, job_id, trained.summary, attempt=2) == "succeeded"


def test_a_crash_repeated_at_the_same_step_is_told_apart(sessions) -> None:
    job_id = _submit(sessions, TINY)
    with sessions() as session:
        assert store.start_job(session, job_id, "w@test#1") == 1
        assert store.record_crash(session, job_id, 1, -9, 812) is False
        assert store.record_crash(session, job_id, 1, -9, 813) is False
        assert store.record_crash(session, job_id, 1, -9, 813) is True
        assert store.record_crash(session, job_id, 2, -9, 813) is None  # not this attempt's

"""The worker's job runner against a real SQLite database and the real engine, no broker: each
run trains in a child process the runner supervises."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from gradcore.spec import ExperimentSpec
from jobs import checkpoints, store, traces
from tests.support.waits import wait_until
from worker.job import Ending, run_job
from worker.throttle import Throttle

TINY = ExperimentSpec(
    cell="tanh", task="adding", seq_len=20, hidden_size=16, steps=30, probe_every=10, batch_size=16
)
# Runs for minutes unless stopped.
ENDLESS = TINY.model_copy(update={"steps": 100_000})
STOP_S = 30.0  # how long a stopped job may take to end here (scaled; about a second idle)


def _submit(sessions: sessionmaker[Session], spec: ExperimentSpec) -> str:
    with sessions() as session:
        return store.create_job(session, spec).id


def _run(settings, sessions, job_id: str, shutdown: threading.Event | None = None) -> Ending:
    return run_job(job_id, "w@test", settings, sessions, shutdown or threading.Event())


def _job(sessions: sessionmaker[Session], job_id: str):
    with sessions() as session:
        return store.get_job(session, job_id)


def _traces(sessions: sessionmaker[Session], job_id: str) -> dict | None:
    with sessions() as session:
        return traces.load_traces(session, job_id)


def _in_background(target: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def _wait_running(sessions, job_id: str) -> None:
    def stepping() -> bool:
        job = _job(sessions, job_id)
        return job.status == "running" and job.progress_step > 0

    wait_until(stepping, 60, f"job {job_id} making progress")


def test_a_job_runs_to_succeeded_with_its_traces(settings, sessions) -> None:
    job_id = _submit(sessions, TINY)
    assert _run(settings, sessions, job_id) is Ending.FINISHED
    job = _job(sessions, job_id)
    assert job.status == "succeeded" and job.attempts == 1 and job.worker == "w@test"
    assert job.started_at <= job.finished_at and job.progress_step == 30
    assert job.summary["outcome"] == "completed" and job.resumes == []
    stored = _traces(sessions, job_id)
    assert stored["hidden_grad"]["step"] == [0, 10, 20, 29]
    assert stored["loss"]["step"] == list(range(30))
    with sessions() as session:
        assert checkpoints.load(session, job_id) is None


def test_an_exploding_run_ends_diverged(settings, sessions) -> None:
    # W_hh = 3I with ReLU overflows float32 within the first forward pass.
    exploding = {
        "cell": "relu",
        "seq_len": 100,
        "init": {"recurrent": "identity", "recurrent_scale": 3},
    }
    job_id = _submit(sessions, ExperimentSpec(**{**TINY.model_dump(), **exploding}))
    assert _run(settings, sessions, job_id) is Ending.FINISHED
    job = _job(sessions, job_id)
    assert job.status == "diverged" and job.error is None
    assert job.summary["diverged_at"] == 0 and "not finite" in job.summary["diverged_reason"]
    # Diverged in its first step: no step recorded, the traces' layout stored all the same.
    assert _traces(sessions, job_id)["loss"]["step"] == []


def test_a_job_no_longer_queued_is_skipped(settings, sessions) -> None:
    job_id = _submit(sessions, TINY)
    with sessions() as session:
        assert store.cancel_job(session, job_id)
    assert _run(settings, sessions, job_id) is Ending.SKIPPED
    assert _job(sessions, job_id).started_at is None


def test_a_spec_the_engine_cannot_run_fails_with_what_to_do(settings, sessions) -> None:
    spec = ExperimentSpec(cell="lstm", task="pixel_mnist", seq_len=784, dataset="absent")
    job_id = _submit(sessions, spec)
    assert _run(settings, sessions, job_id) is Ending.FINISHED
    job = _job(sessions, job_id)
    assert job.status == "failed" and job.finished_at is not None
    assert "absent" in job.error and "submit again" in job.error


def test_cancel_stops_a_running_job_and_keeps_its_partial_traces(settings, sessions) -> None:
    job_id = _submit(sessions, ENDLESS)
    thread = _in_background(lambda: _run(settings, sessions, job_id))
    _wait_running(sessions, job_id)
    with sessions() as session:
        assert store.cancel_job(session, job_id)
    thread.join(timeout=STOP_S)
    assert not thread.is_alive()
    job = _job(sessions, job_id)
    assert job.status == "cancelled" and 0 < job.summary["steps_completed"] < 100_000
    assert job.summary["outcome"] == "stopped" and job.summary["eval_loss"] is None
    assert len(_traces(sessions, job_id)["loss"]["step"]) == job.summary["steps_completed"]


def test_deleting_a_running_job_stops_it_and_stores_nothing(settings, sessions) -> None:
    job_id = _submit(sessions, ENDLESS)
    thread = _in_background(lambda: _run(settings, sessions, job_id))
    _wait_running(sessions, job_id)
    with sessions() as session:
        assert store.delete_job(session, job_id)
    thread.join(timeout=STOP_S)
    assert not thread.is_alive()
    with sessions() as session:
        assert store.get_job(session, job_id) is None
        assert checkpoints.load(session, job_id) is None


def test_worker_shutdown_checkpoints_and_puts_the_job_back_in_the_queue(settings, sessions) -> None:
    job_id = _submit(sessions, ENDLESS)
    shutdown = threading.Event()
    endings: list[Ending] = []
    thread = _in_background(lambda: endings.append(_run(settings, sessions, job_id, shutdown)))
    _wait_running(sessions, job_id)
    shutdown.set()
    thread.join(timeout=STOP_S)
    assert endings == [Ending.REQUEUED]
    job = _job(sessions, job_id)
    assert job.status == "queued" and job.started_at is None and job.progress_step == 0
    # The checkpoint taken at the shutdown is where the next worker resumes.
    with sessions() as session:
        saved = checkpoints.load(session, job_id)
    assert saved is not None and saved.step == len(_traces(sessions, job_id)["loss"]["step"])
    with sessions() as session:
        assert store.start_job(session, job_id, "w2@test")
    assert _job(sessions, job_id).attempts == 2


def test_throttle_is_due_once_per_interval() -> None:
    throttle = Throttle(60.0)
    assert throttle.due() and not throttle.due()
    always = Throttle(0.0)
    assert always.due() and always.due()

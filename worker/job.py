"""Run one job: claim its row, train, store the result and the end state.

gradcore polls `should_stop` between training steps and reports progress often; both touch
the database at most every few hundred milliseconds so a fast run is not slowed by I/O.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from enum import Enum

from sqlalchemy.orm import Session, sessionmaker

import gradcore
from api import store, traces
from api.settings import Settings
from gradcore.result import ExperimentResult, Progress
from gradcore.spec import ExperimentSpec
from gradcore.tasks import ImageSet

log = logging.getLogger(__name__)


class Ending(Enum):
    SKIPPED = "skipped"  # not queued any more (cancelled, deleted or claimed elsewhere)
    FINISHED = "finished"  # an end state is stored (or the job was deleted meanwhile)
    REQUEUED = "requeued"  # the worker is shutting down; the job waits for the next one


class Throttle:
    """True at most once per `interval` seconds (the first call is always due)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.last = -float("inf")

    def due(self) -> bool:
        now = time.monotonic()
        if now - self.last < self.interval:
            return False
        self.last = now
        return True


def run_job(
    job_id: str,
    worker: str,
    settings: Settings,
    sessions: sessionmaker[Session],
    datasets: Mapping[str, ImageSet],
    shutdown: threading.Event,
) -> Ending:
    with sessions() as session:
        attempt = store.start_job(session, job_id, worker)
        if attempt is None:
            log.info("job %s is no longer queued; skipped", job_id)
            return Ending.SKIPPED
        spec = ExperimentSpec.model_validate(store.get_job(session, job_id).spec)
    log.info(
        "job %s started (attempt %d): %s on %s, %d steps",
        *(job_id, attempt, spec.cell, spec.task, spec.steps),
    )
    stop = StopReader(job_id, attempt, sessions, settings, shutdown)
    try:
        result = gradcore.run(
            spec,
            on_progress=_progress_writer(job_id, sessions, settings.progress_interval_s),
            should_stop=stop,
            datasets=datasets,
        )
    except ValueError as exc:
        _fail(sessions, job_id, f"the spec cannot run here: {exc}. Fix it and submit again.")
        return Ending.FINISHED
    except Exception as exc:
        log.exception("job %s crashed", job_id)
        _fail(
            sessions,
            job_id,
            f"internal error ({type(exc).__name__}: {exc}); the worker log has the traceback. "
            "Submit again; if it fails the same way, report it with the spec.",
        )
        return Ending.FINISHED
    return _store(job_id, sessions, result, stop)


def _store(
    job_id: str, sessions: sessionmaker[Session], result: ExperimentResult, stop: StopReader
) -> Ending:
    error = None
    if result.summary.outcome == "stopped" and stop.timed_out:
        error = (
            f"time limit: stopped after {stop.time_limit_s:g} s "
            f"(GRADFLOW_JOB_TIME_LIMIT_S) at step {result.summary.steps_completed}; the partial "
            "result is kept. Ask for fewer steps or a smaller model."
        )
    with sessions() as session:
        stopped_for_shutdown = (
            result.summary.outcome == "stopped"
            and stop.shutdown.is_set()
            and not store.should_stop(session, job_id, stop.attempt)
        )
        if stopped_for_shutdown and store.requeue_job(session, job_id):
            log.info("job %s put back in the queue: the worker is shutting down", job_id)
            return Ending.REQUEUED
        # Every attempt runs from step 0: its traces replace whatever an earlier one stored.
        status = None
        slice_ = result.model_dump(mode="json", exclude={"summary"})
        if traces.truncate_after(session, job_id, -1, stop.attempt) and traces.append_slice(
            session, job_id, stop.attempt, slice_
        ):
            status = store.finish_job(session, job_id, result.summary, stop.attempt, error)
    log.info("job %s ended %s", job_id, status or "deleted, or taken over, while running")
    return Ending.FINISHED


def _fail(sessions: sessionmaker[Session], job_id: str, error: str) -> None:
    with sessions() as session:
        store.fail_job(session, job_id, error)
    log.info("job %s failed: %s", job_id, error)


def _progress_writer(
    job_id: str, sessions: sessionmaker[Session], interval: float
) -> Callable[[Progress], None]:
    throttle = Throttle(interval)

    def write(progress: Progress) -> None:
        if throttle.due():
            with sessions() as session:
                store.record_progress(session, job_id, progress)

    return write


class StopReader:
    """gradcore's `should_stop` for one run: true on shutdown, past the time limit, or when
    the database says stop (cancelled, deleted, or this run is no longer the job's current)."""

    def __init__(
        self,
        job_id: str,
        attempt: int,
        sessions: sessionmaker[Session],
        settings: Settings,
        shutdown: threading.Event,
    ) -> None:
        self.job_id, self.attempt = job_id, attempt
        self.sessions, self.shutdown = sessions, shutdown
        self.time_limit_s = settings.job_time_limit_s
        self.deadline = time.monotonic() + settings.job_time_limit_s
        self.timed_out = False
        self.throttle = Throttle(settings.cancel_check_interval_s)

    def __call__(self) -> bool:
        if self.shutdown.is_set():
            return True
        if time.monotonic() > self.deadline:
            self.timed_out = True
            return True
        if not self.throttle.due():
            return False
        with self.sessions() as session:
            return store.should_stop(session, self.job_id, self.attempt)

"""Run one job: claim its row, run it in supervised child processes, store how it ended.

A child that dies (a signal, a segfault, out of memory) is followed by another that resumes
from the job's last checkpoint, unless it died the same way at the same step as the one before
(a deterministic crash: the job fails with the reason) or the job has had `max_attempts` lives.
"""

from __future__ import annotations

import logging
import threading
import time
from enum import Enum

from sqlalchemy.orm import Session, sessionmaker

from gradcore.hooks import RunFacts
from gradcore.result import Summary
from gradcore.spec import ExperimentSpec
from gradcore.summary import summarise_stored
from jobs import checkpoints, store, traces
from jobs.settings import Settings
from worker.supervisor import Attempt, Life, describe_crash, live

log = logging.getLogger(__name__)

INTERRUPTED = "its previous run was interrupted (worker stopped or lost)"


class Ending(Enum):
    SKIPPED = "skipped"  # not queued any more (cancelled, deleted or claimed elsewhere)
    FINISHED = "finished"  # an end state is stored (or the job was deleted meanwhile)
    REQUEUED = "requeued"  # the worker is shutting down; the job waits for the next one


def run_job(
    job_id: str,
    worker: str,
    settings: Settings,
    sessions: sessionmaker[Session],
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
    run = Attempt(job_id, attempt, settings, sessions)
    deadline = time.monotonic() + settings.job_time_limit_s
    why = INTERRUPTED if attempt > 1 else None
    for lives in range(1, settings.max_attempts + 1):
        with sessions() as session:
            store.note_resume(session, job_id, attempt, why)
        life = live(run, shutdown, deadline)
        if life.ending != "crashed":
            return _end(run, spec, life)
        why = describe_crash(life)
        log.warning("job %s: %s", job_id, why)
        with sessions() as session:
            repeated = store.record_crash(session, job_id, attempt, life.exitcode, life.step)
            if repeated is None:
                return Ending.FINISHED  # deleted, or no longer this attempt's
            if repeated or lives == settings.max_attempts:
                again = "the same way at the same step as before" if repeated else "again"
                _fail(run, f"{why}; it crashed {again}, so it was not retried")
                return Ending.FINISHED
    return Ending.FINISHED


def _end(run: Attempt, spec: ExperimentSpec, life: Life) -> Ending:
    if life.ending == "fenced" or life.stop_reason == "gone":
        log.info("job %s was deleted, or taken over, while running", run.job_id)
        return Ending.FINISHED
    if life.ending == "refused":
        error = f"the spec cannot run here: {life.detail}. Fix it and submit again."
    elif life.ending == "out_of_memory":
        error = (
            f"out of memory at step {life.step} ({life.detail}); ask for a smaller batch_size, "
            "seq_len or hidden_size"
        )
    elif life.ending == "error":
        error = (
            f"internal error ({life.detail}); the worker log has the traceback. Submit again; "
            "if it fails the same way, report it with the spec."
        )
    else:
        return _finish(run, spec, life)
    _fail(run, error)
    return Ending.FINISHED


def _finish(run: Attempt, spec: ExperimentSpec, life: Life) -> Ending:
    """A run that ended by itself ("result") or that we stopped ("killed")."""
    if life.ending == "result":
        summary = Summary.model_validate(life.detail)
    else:
        with run.sessions() as session:
            stored = traces.load_traces(session, run.job_id)
        # None: stopped before its network was built, or before it stored anything.
        summary = None
        if life.facts is not None and stored is not None:
            summary = summarise_stored(spec, stored, RunFacts(**life.facts), life.wall_time_s)
    error = None
    if summary is None or summary.outcome == "stopped":
        if life.stop_reason == "shutdown":
            with run.sessions() as session:
                if store.requeue_job(session, run.job_id):
                    log.info(
                        "job %s put back in the queue: the worker is shutting down", run.job_id
                    )
                    return Ending.REQUEUED
        if life.stop_reason == "time limit":
            steps = 0 if summary is None else summary.steps_completed
            error = (
                f"time limit: stopped after {run.settings.job_time_limit_s:g} s "
                f"(GRADFLOW_JOB_TIME_LIMIT_S) at step {steps}; the partial result is kept. "
                "Ask for fewer steps or a smaller model."
            )
    with run.sessions() as session:
        if summary is None:
            status = store.end_without_summary(session, run.job_id, run.number, error)
        else:
            status = store.finish_job(session, run.job_id, summary, run.number, error)
        checkpoints.discard(session, run.job_id)
    log.info("job %s ended %s", run.job_id, status or "deleted, or taken over, while running")
    return Ending.FINISHED


def _fail(run: Attempt, error: str) -> None:
    with run.sessions() as session:
        store.fail_job(session, run.job_id, error, run.number)
        checkpoints.discard(session, run.job_id)
    log.info("job %s failed: %s", run.job_id, error)

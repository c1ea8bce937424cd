"""Every change of a job's state, for the API and the worker alike.

Transitions are conditional UPDATEs (`WHERE status = ...`), so a cancel racing the worker's
start, or a delete racing its finish, resolves in the database and never half-applies.
Each function commits its own short transaction, except `add_job`, which is part of an
admission's (api/admission.py).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from gradcore.result import Progress, Summary
from gradcore.spec import ExperimentSpec
from jobs.models import Job, Worker, utcnow
from jobs.statuses import ACTIVE_STATUSES, JobStatus

# gradcore's outcome of a run -> the job's end state.
OUTCOME_STATUS: dict[str, JobStatus] = {
    "completed": JobStatus.succeeded,
    "diverged": JobStatus.diverged,
    "stopped": JobStatus.cancelled,
}


def add_job(
    session: Session,
    spec: ExperimentSpec,
    owner: str | None = None,
    idempotency_key: str | None = None,
) -> Job:
    """A new queued job, part of the session's transaction: the caller commits it (with the
    rest of its submission) or rolls it back."""
    job = Job(
        id=uuid.uuid4().hex,
        status=JobStatus.queued,
        cell=spec.cell,
        task=spec.task,
        spec=spec.model_dump(mode="json"),
        progress_total=spec.steps,
        owner=owner,
        idempotency_key=idempotency_key,
    )
    session.add(job)
    return job


def create_job(session: Session, spec: ExperimentSpec, owner: str | None = None) -> Job:
    """A new queued job, committed."""
    job = add_job(session, spec, owner)
    session.commit()
    return job


def get_job(session: Session, job_id: str) -> Job | None:
    return session.get(Job, job_id)


def _transition(session: Session, job_id: str, *from_status: str, **values: Any) -> bool:
    return update_jobs(session, Job.id == job_id, Job.status.in_(from_status), **values) == 1


def update_jobs(session: Session, *conditions: Any, **values: Any) -> int:
    """Set `values` on the jobs matching `conditions`, in its own transaction; how many."""
    changed = session.execute(update(Job).where(*conditions).values(**values)).rowcount
    session.commit()
    return changed


def cancel_job(session: Session, job_id: str) -> bool:
    """A queued job ends at once; a running one is flagged for its worker. False: neither."""
    if _transition(
        session, job_id, JobStatus.queued, status=JobStatus.cancelled, finished_at=utcnow()
    ):
        return True
    return _transition(session, job_id, JobStatus.running, cancel_requested=True)


def delete_job(session: Session, job_id: str) -> bool:
    """Remove a job and its result. A running job's worker sees the row gone and stops."""
    deleted = session.execute(delete(Job).where(Job.id == job_id)).rowcount
    session.commit()
    return deleted == 1


def fail_job(session: Session, job_id: str, error: str, attempt: int | None = None) -> None:
    """End a queued or running job failed; given `attempt`, only while it is that run's."""
    conditions = [Job.id == job_id, Job.status.in_(ACTIVE_STATUSES)]
    if attempt is not None:
        conditions.append(Job.attempts == attempt)
    update_jobs(session, *conditions, status=JobStatus.failed, error=error, finished_at=utcnow())


def start_job(session: Session, job_id: str, worker: str) -> int | None:
    """Claim a queued job for `worker`: the attempt number this start is, or None when the job
    was cancelled, deleted or already claimed."""
    now = utcnow()
    claimed = _transition(
        session,
        job_id,
        JobStatus.queued,
        status=JobStatus.running,
        started_at=now,
        heartbeat_at=now,
        worker=worker,
        attempts=Job.attempts + 1,
    )
    return session.scalar(select(Job.attempts).where(Job.id == job_id)) if claimed else None


NOT_STARTED: dict[str, Any] = {
    "status": JobStatus.queued,
    "started_at": None,
    "heartbeat_at": None,
    "progress_step": 0,
    "progress_loss": None,
    "progress_elapsed_s": None,
    "worker": None,
}


def requeue_job(session: Session, job_id: str) -> bool:
    """Put a running job back to queued, as if never started (its worker is going away)."""
    return _transition(session, job_id, JobStatus.running, **NOT_STARTED)


def touch_jobs(session: Session, worker: str) -> None:
    """Heartbeat of the jobs `worker` runs, independent of how long one training step takes."""
    update_jobs(
        session, Job.worker == worker, Job.status == JobStatus.running, heartbeat_at=utcnow()
    )


def record_progress(session: Session, job_id: str, progress: Progress) -> None:
    _transition(
        session,
        job_id,
        JobStatus.running,
        progress_step=progress.step,
        progress_total=progress.total,
        progress_loss=progress.loss,
        progress_elapsed_s=progress.elapsed_s,
        heartbeat_at=utcnow(),
    )


def stop_reason(session: Session, job_id: str, attempt: int) -> str | None:
    """Why the run of `attempt` must stop: "cancelled" (a cancel was asked), "gone" (the job
    was deleted, or the run is no longer the job's current one: declared lost and re-queued,
    or failed by the reconciler), or None to go on."""
    row = session.execute(
        select(Job.cancel_requested, Job.status, Job.attempts).where(Job.id == job_id)
    ).first()
    session.rollback()  # end the read so a long run never pins an old snapshot
    if row is None or row.status != JobStatus.running or row.attempts != attempt:
        return "gone"
    return "cancelled" if row.cancel_requested else None


def note_resume(session: Session, job_id: str, attempt: int, reason: str | None) -> None:
    """Before a run starts: if it continues an interrupted one (`reason` says why), add
    {step, at, reason} to the job's resumes, the step being where it continues from."""
    if reason is None:
        return
    job = session.get(Job, job_id)
    if job is None or job.status != JobStatus.running or job.attempts != attempt:
        return
    entry = {"step": job.checkpoint_step or 0, "at": utcnow().isoformat(), "reason": reason}
    _transition_attempt(session, job_id, attempt, resumes=[*(job.resumes or []), entry])


def record_crash(
    session: Session, job_id: str, attempt: int, exitcode: int | None, step: int
) -> bool | None:
    """Remember how the run process died; True when the previous crash was the same (same
    exit, same step), None when the job is gone or no longer this attempt's."""
    job = session.get(Job, job_id)
    if job is None or job.status != JobStatus.running or job.attempts != attempt:
        return None
    crash = {"exitcode": exitcode, "step": step}
    repeated = job.last_crash == crash
    _transition_attempt(session, job_id, attempt, last_crash=crash)
    return repeated


def _transition_attempt(session: Session, job_id: str, attempt: int, **values: Any) -> bool:
    return (
        update_jobs(
            session,
            Job.id == job_id,
            Job.status == JobStatus.running,
            Job.attempts == attempt,
            **values,
        )
        == 1
    )


def summary_columns(summary: dict[str, Any]) -> dict[str, float | int | None]:
    """The summary's numbers lists sort by, as the job row's columns: the top layer's gradient
    horizon at the last probe (null without probes) beside three of the summary's own."""
    horizons = summary.get("gradient_horizon") or []
    return {
        "final_loss": summary.get("final_loss"),
        "eval_metric": summary.get("eval_metric"),
        "horizon": horizons[-1][-1] if horizons and horizons[-1] else None,
        "steps_per_second": summary.get("steps_per_second"),
    }


def finish_job(
    session: Session,
    job_id: str,
    summary: Summary,
    attempt: int | None = None,
    error: str | None = None,
) -> str | None:
    """Set the end state and the run's summary (its traces are stored already, slice by
    slice); the new status, or None when the job is gone (deleted while running) or, given
    `attempt`, no longer this run's. With `error` the job ends failed, keeping the partial
    traces (e.g. past its time limit)."""
    status = JobStatus.failed if error else OUTCOME_STATUS[summary.outcome]
    this_run = [Job.id == job_id, Job.status == JobStatus.running]
    if attempt is not None:
        this_run.append(Job.attempts == attempt)
    document = summary.model_dump(mode="json")
    changed = update_jobs(
        session,
        *this_run,
        status=status,
        error=error,
        summary=document,
        **summary_columns(document),
        progress_step=summary.steps_completed,
        progress_loss=summary.final_loss,
        finished_at=utcnow(),
    )
    return status if changed == 1 else None


def end_without_summary(
    session: Session, job_id: str, attempt: int, error: str | None
) -> str | None:
    """A run stopped before it built its network: cancelled, or failed with `error`."""
    status = JobStatus.failed if error else JobStatus.cancelled
    values = {"status": status, "error": error, "finished_at": utcnow()}
    return status if _transition_attempt(session, job_id, attempt, **values) else None


def beat(session: Session, worker: str) -> None:
    """Record that `worker` is alive."""
    now = utcnow()
    if session.get(Worker, worker) is None:
        session.add(Worker(name=worker, started_at=now, last_seen=now))
    else:
        session.execute(update(Worker).where(Worker.name == worker).values(last_seen=now))
    session.commit()


def workers_seen(session: Session, within_s: float) -> list[Worker]:
    since = utcnow() - timedelta(seconds=within_s)
    return list(
        session.scalars(select(Worker).where(Worker.last_seen >= since).order_by(Worker.name))
    )

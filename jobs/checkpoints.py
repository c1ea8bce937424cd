"""A running job's last checkpoint, in the database so that a worker on any host can resume it.

One row per job (the newest checkpoint replaces the previous one), written only by the job's
current attempt, removed when the job ends and, by `ON DELETE CASCADE`, with the job.
"""

from __future__ import annotations

from sqlalchemy import Row, delete, select, update
from sqlalchemy.orm import Session

from jobs.models import Job, JobCheckpoint, utcnow
from jobs.statuses import JobStatus


def save(session: Session, job_id: str, attempt: int, step: int, data: bytes) -> bool:
    """Store the checkpoint taken before training step `step`; False (nothing stored) when
    `attempt` is no longer the job's current run."""
    current = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.running, Job.attempts == attempt)
        .values(checkpoint_step=step)
    ).rowcount
    if current != 1:
        session.rollback()
        return False
    session.execute(delete(JobCheckpoint).where(JobCheckpoint.job_id == job_id))
    session.add(JobCheckpoint(job_id=job_id, step=step, data=data, created_at=utcnow()))
    session.commit()
    return True


def load(session: Session, job_id: str) -> Row[tuple[int, bytes]] | None:
    """(step, data) of the job's checkpoint, or None."""
    checkpoint = session.execute(
        select(JobCheckpoint.step, JobCheckpoint.data).where(JobCheckpoint.job_id == job_id)
    ).first()
    session.rollback()  # end the read: the caller keeps the bytes, not the transaction
    return checkpoint


def discard(session: Session, job_id: str) -> None:
    session.execute(delete(JobCheckpoint).where(JobCheckpoint.job_id == job_id))
    session.commit()

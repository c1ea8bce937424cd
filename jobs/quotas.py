"""What an API key holds against its limits, counted in the database, so that every API process
counts the same jobs and submissions.

An admission reads these and stores its rows in one transaction that starts with `hold`: other
admissions for the same key wait until it commits or rolls back, so two submissions sent at
once can never both fit under a limit that only one of them fits under.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from jobs.locks import begin_locked
from jobs.models import Job, Submission
from jobs.statuses import ACTIVE_STATUSES


def hold(session: Session, owner: str | None) -> None:
    """Call first in a transaction: lock out other admissions for `owner` (None: the keyless
    service) until this one ends (jobs/locks.py; on PostgreSQL other keys go on in parallel)."""
    begin_locked(session, f"admission:{owner or ''}")


def active_jobs(session: Session, owner: str) -> int:
    """The owner's queued and running jobs."""
    return session.scalar(
        select(func.count())
        .select_from(Job)
        .where(Job.owner == owner, Job.status.in_(ACTIVE_STATUSES))
    )


def submissions_since(session: Session, owner: str, since: float) -> list[float]:
    """The times (Unix seconds) of the owner's submissions after `since`, oldest first; older
    ones are forgotten, so the table holds at most one rate window per key."""
    session.execute(delete(Submission).where(Submission.owner == owner, Submission.at <= since))
    return list(
        session.scalars(
            select(Submission.at)
            .where(Submission.owner == owner, Submission.at > since)
            .order_by(Submission.at)
        )
    )


def record_submission(session: Session, owner: str, at: float) -> None:
    session.add(Submission(owner=owner, at=at))

"""What an API key holds against its limits, counted in the database, so that every API process
counts the same jobs and submissions.

An admission reads these and stores its rows in one transaction that starts with `hold`: other
admissions for the same key wait until it commits or rolls back, so two submissions sent at
once can never both fit under a limit that only one of them fits under.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from jobs.models import Job, Submission
from jobs.statuses import ACTIVE_STATUSES


def hold(session: Session, owner: str | None) -> None:
    """Call first in a transaction: lock out other admissions for `owner` (None: the keyless
    service) until this one ends.

    PostgreSQL: a transaction-scoped advisory lock on the owner, so other keys go on in
    parallel. SQLite: its write lock, taken now (`BEGIN IMMEDIATE`) rather than at the first
    insert, after the counts were read; SQLite has no finer lock, and an admission holds it
    for milliseconds. Other databases SQLAlchemy reaches admit unlocked, as jobs/migrate.py
    migrates unlocked there.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_lock_id(owner))))
    elif dialect == "sqlite":
        session.execute(text("BEGIN IMMEDIATE"))


def _lock_id(owner: str | None) -> int:
    # Advisory locks are named by a signed 64-bit integer; keys whose hashes collide only wait
    # on each other.
    digest = hashlib.sha256(f"gradflow-admission:{owner or ''}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


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

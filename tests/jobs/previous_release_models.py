"""The tables as the last release before schema revisions made them (its api/models.py, kept
as it was): the database the migration tests upgrade. History, so it never changes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, ForeignKey, String, Text, UniqueConstraint, literal_column
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar = {datetime: DateTime(timezone=True), dict[str, Any]: JSON}


class Job(Base):
    __tablename__ = "jobs"
    # The same client key may be reused by different owners; NULLs never collide.
    __table_args__ = (UniqueConstraint("owner", "idempotency_key"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    # Copied out of the spec so that list filters use an index instead of parsing JSON.
    cell: Mapped[str] = mapped_column(String(16), index=True)
    task: Mapped[str] = mapped_column(String(32), index=True)
    spec: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    progress_step: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int]
    progress_loss: Mapped[float | None]
    progress_elapsed_s: Mapped[float | None]
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    error: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[dict[str, Any] | None]
    # Bookkeeping for retries and liveness: attempts counts starts; heartbeat_at is the last
    # progress write; worker names who runs it.
    attempts: Mapped[int] = mapped_column(default=0)
    heartbeat_at: Mapped[datetime | None]
    worker: Mapped[str | None] = mapped_column(String(255))
    owner: Mapped[str | None] = mapped_column(String(64), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    # Grows with every UPDATE of the row (core UPDATEs included), so event streams can number
    # their events by it and tell what changed since a client's Last-Event-ID.
    version: Mapped[int] = mapped_column(default=0, onupdate=literal_column("version") + 1)


class JobResult(Base):
    __tablename__ = "job_results"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    document: Mapped[dict[str, Any]]


class Worker(Base):
    """A worker process's heartbeat, so health can say which workers are alive even while a
    worker is busy training (a solo-pool worker does not answer broker pings mid-task)."""

    __tablename__ = "workers"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    started_at: Mapped[datetime]
    last_seen: Mapped[datetime]


class Sweep(Base):
    """A grid of experiments submitted together; its members are ordinary jobs."""

    __tablename__ = "sweeps"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    base: Mapped[dict[str, Any]] = mapped_column(JSON)
    # {dotted spec path: [values]}, in the order the client gave the axes.
    grid: Mapped[dict[str, Any]] = mapped_column(JSON)
    seeds: Mapped[int]
    owner: Mapped[str | None] = mapped_column(String(64), index=True)


class SweepMember(Base):
    """One experiment of a sweep and the grid values it was made from. Deleting the job
    removes it from the sweep."""

    __tablename__ = "sweep_members"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    sweep_id: Mapped[str] = mapped_column(ForeignKey("sweeps.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(doc="order of expansion: grid product, then seed")
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    seed: Mapped[int]


class ApiKey(Base):
    """An API key (see api/keys.py): the public id owns jobs; only the secret's hash is kept."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]

"""Database tables. The job row is the truth about a job, its summary included.

A run's traces live in tables of their own (layout: jobs/trace_format.py), so that listing and
polling jobs never reads them; `ON DELETE CASCADE` removes them with their job even when a
worker stores a slice concurrently.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    literal_column,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# A name, tags and notes label experiments and sweeps (api/labels.py checks them).
NAME_MAX = 200
TAG_MAX = 64
NOTES_MAX = 10_000


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar = {datetime: DateTime(timezone=True), dict[str, Any]: JSON}


class Job(Base):
    __tablename__ = "jobs"
    # The same client key may be reused by different owners; NULLs never collide.
    __table_args__ = (UniqueConstraint("owner", "idempotency_key"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True, doc="a jobs.statuses.JobStatus")
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
    # Bookkeeping for retries and liveness: attempts counts starts (and fences each run's
    # writes); attempts_lost counts the runs whose worker was lost, which GRADFLOW_MAX_ATTEMPTS
    # bounds (a worker that shuts down gracefully hands its job back without using one);
    # heartbeat_at is the last progress write; worker names who runs it.
    attempts: Mapped[int] = mapped_column(default=0)
    attempts_lost: Mapped[int] = mapped_column(default=0, server_default="0")
    heartbeat_at: Mapped[datetime | None]
    worker: Mapped[str | None] = mapped_column(String(255))
    owner: Mapped[str | None] = mapped_column(String(64), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    # Durability: the step the stored checkpoint resumes at, each resume of the run (step,
    # time, why), and the last crash of its run process ({"cause", "step"}), so a crash that
    # repeats at the same step ends the job instead of looping.
    checkpoint_step: Mapped[int | None]
    resumes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default="[]")
    last_crash: Mapped[dict[str, Any] | None]
    # Grows with every UPDATE of the row (core UPDATEs included), so event streams can number
    # their events by it and tell what changed since a client's Last-Event-ID.
    version: Mapped[int] = mapped_column(default=0, onupdate=literal_column("version") + 1)
    # What is stored of the run's traces: its last training step (None: nothing yet), how many
    # probes, and the parts' layout (api/trace_format.describe). Readers read no further than
    # these, so a read is consistent while slices are appended.
    trace_step: Mapped[int | None]
    trace_probes: Mapped[int] = mapped_column(default=0, server_default="0")
    trace_meta: Mapped[dict[str, Any] | None]
    # The researcher's labels; tags are rows of job_tags, so a tag filter is a portable join.
    # They load when read (lists load a page's at once: jobs/listing.py), so the many reads
    # of job rows that never show tags (workers, event streams) cost no extra query.
    name: Mapped[str | None] = mapped_column(String(NAME_MAX))
    notes: Mapped[str | None] = mapped_column(Text)
    tag_rows: Mapped[list[JobTag]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="JobTag.tag"
    )
    # Numbers of the summary copied out when the job ends (store.summary_columns), so lists
    # sort by them in SQL; null until then.
    final_loss: Mapped[float | None]
    eval_metric: Mapped[float | None]
    horizon: Mapped[int | None] = mapped_column(doc="the top layer's, at the last probe")
    steps_per_second: Mapped[float | None]

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]

    @property
    def progress_fraction(self) -> float:
        """The share of its training steps done, 0 to 1."""
        return self.progress_step / self.progress_total if self.progress_total else 0.0


class TraceBlock(Base):
    """Up to BLOCK_STEPS steps of one per-step part: its columns whole and thinned."""

    __tablename__ = "trace_blocks"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    part: Mapped[str] = mapped_column(String(16), primary_key=True)
    block: Mapped[int] = mapped_column(primary_key=True, doc="first step // BLOCK_STEPS")
    first_step: Mapped[int]
    last_step: Mapped[int]
    count: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    thin_count: Mapped[int]
    thin: Mapped[bytes] = mapped_column(LargeBinary)


class TraceProbe(Base):
    """One probe: hidden_grad's curves and horizons, and the dynamics measured with them."""

    __tablename__ = "trace_probes"
    __table_args__ = (Index("ix_trace_probes_step", "job_id", "step"),)

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True, doc="0 for the run's first probe")
    step: Mapped[int]
    series: Mapped[bytes] = mapped_column(LargeBinary, doc="trace_format.probe_series")
    norm: Mapped[bytes] = mapped_column(LargeBinary, doc="float64 (layers, T)")
    horizon: Mapped[bytes] = mapped_column(LargeBinary, doc="int64 (layers,)")
    recall_horizon: Mapped[bytes | None] = mapped_column(
        LargeBinary, doc="int64 (layers,); tasks with a recall phase (copy)"
    )
    jacobian_norm: Mapped[bytes | None] = mapped_column(LargeBinary, doc="float64 (layers, T)")
    lyapunov: Mapped[bytes | None] = mapped_column(LargeBinary, doc="float64 (layers, k)")
    # Left out of an INSERT that does not set it (evaluates_none: the ORM would otherwise send
    # NULL): revision 0002 moves old results through these models, before 0004 adds it.
    eigenvalues: Mapped[bytes | None] = mapped_column(
        LargeBinary().evaluates_none(), doc="float64 (layers, K, 2): (re, im) of each eigenvalue"
    )


class JobCheckpoint(Base):
    """A running job's newest checkpoint (see jobs/checkpoints.py and gradcore.checkpoint)."""

    __tablename__ = "job_checkpoints"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    step: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


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
    name: Mapped[str | None] = mapped_column(String(NAME_MAX))
    notes: Mapped[str | None] = mapped_column(Text)
    tag_rows: Mapped[list[SweepTag]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="SweepTag.tag"
    )

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]


class JobTag(Base):
    """One tag of an experiment; the (tag, job_id) index answers "which jobs have this tag"."""

    __tablename__ = "job_tags"
    __table_args__ = (Index("ix_job_tags_tag", "tag", "job_id"),)

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(TAG_MAX), primary_key=True)


class SweepTag(Base):
    """One tag of a sweep."""

    __tablename__ = "sweep_tags"
    __table_args__ = (Index("ix_sweep_tags_tag", "tag", "sweep_id"),)

    sweep_id: Mapped[str] = mapped_column(
        ForeignKey("sweeps.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(TAG_MAX), primary_key=True)


class SweepMember(Base):
    """One experiment of a sweep and the grid values it was made from. Deleting the job
    removes it from the sweep."""

    __tablename__ = "sweep_members"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    sweep_id: Mapped[str] = mapped_column(ForeignKey("sweeps.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(doc="order of expansion: grid product, then seed")
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    seed: Mapped[int]


class ReproductionRun(Base):
    """A reproduction of the gallery (gradcore.reproductions) started as sweeps, one per plan,
    and its verdict once every member has ended (kept, so reading it again costs nothing)."""

    __tablename__ = "reproduction_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    name: Mapped[str] = mapped_column(String(64))
    scale: Mapped[str] = mapped_column(String(16))
    seeds: Mapped[int]
    owner: Mapped[str | None] = mapped_column(String(64), index=True)
    passed: Mapped[bool | None] = mapped_column(doc="None until decided")
    measured: Mapped[str | None] = mapped_column(Text)


class ReproductionSweep(Base):
    """One plan's sweep of a reproduction run; a sweep belongs to at most one run."""

    __tablename__ = "reproduction_sweeps"

    sweep_id: Mapped[str] = mapped_column(
        ForeignKey("sweeps.id", ondelete="CASCADE"), primary_key=True
    )
    run_id: Mapped[str] = mapped_column(
        ForeignKey("reproduction_runs.id", ondelete="CASCADE"), index=True
    )
    plan: Mapped[int] = mapped_column(doc="the plan's place in the reproduction's plans")


class Submission(Base):
    """An admitted submission (an experiment, or a sweep with all its members) of an API key,
    kept for the rate window: every API process counts the same rows."""

    __tablename__ = "submissions"
    __table_args__ = (Index("ix_submissions_owner_at", "owner", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    owner: Mapped[str] = mapped_column(String(64))
    at: Mapped[float] = mapped_column(doc="Unix time, seconds")


class ApiKey(Base):
    """An API key (see jobs/keys.py): the public id owns jobs; only the secret's hash is kept."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]

"""Traces stored slice by slice, and runs that survive a crash.

Results stored whole (`job_results`) move into the trace tables and that table goes; jobs gain
what is stored of their traces and their durability bookkeeping (checkpoint step, resumes, last
crash), and each running job keeps its newest checkpoint.

The move writes through the trace store (jobs/traces.py) as it is at this revision: a later
revision that changes the trace tables must give this one a copy of what it uses.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError
from sqlalchemy.orm import Session

from jobs.traces import store_slice

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)


def upgrade() -> None:
    op.add_column("jobs", sa.Column("checkpoint_step", sa.Integer(), nullable=True))
    # The default fills the rows already there: none of them has resumed.
    op.add_column("jobs", sa.Column("resumes", sa.JSON(), server_default="[]", nullable=False))
    op.add_column("jobs", sa.Column("last_crash", sa.JSON(), nullable=True))
    op.add_column("jobs", sa.Column("trace_step", sa.Integer(), nullable=True))
    op.add_column(
        "jobs", sa.Column("trace_probes", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column("jobs", sa.Column("trace_meta", sa.JSON(), nullable=True))
    op.create_table(
        "trace_blocks",
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("part", sa.String(length=16), nullable=False),
        sa.Column("block", sa.Integer(), nullable=False),
        sa.Column("first_step", sa.Integer(), nullable=False),
        sa.Column("last_step", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("thin_count", sa.Integer(), nullable=False),
        sa.Column("thin", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", "part", "block"),
    )
    op.create_table(
        "trace_probes",
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("series", sa.LargeBinary(), nullable=False),
        sa.Column("norm", sa.LargeBinary(), nullable=False),
        sa.Column("horizon", sa.LargeBinary(), nullable=False),
        sa.Column("jacobian_norm", sa.LargeBinary(), nullable=True),
        sa.Column("lyapunov", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", "position"),
    )
    op.create_index("ix_trace_probes_step", "trace_probes", ["job_id", "step"])
    op.create_table(
        "job_checkpoints",
        sa.Column("job_id", sa.String(length=32), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id"),
    )
    _move_results_into_trace_tables()
    op.drop_table("job_results")


def _move_results_into_trace_tables() -> None:
    """Each result stored whole becomes its job's traces; its summary is on the job row
    already. One document at a time: a long run's is large."""
    connection = op.get_bind()
    results = sa.table(
        "job_results", sa.column("job_id", sa.String), sa.column("document", sa.JSON)
    )
    jobs = sa.table("jobs", sa.column("id", sa.String))
    # The session joins the upgrade's transaction (jobs/migrate.py commits it, under the lock).
    session = Session(bind=connection)
    job_ids = connection.scalars(
        sa.select(results.c.job_id).join(jobs, jobs.c.id == results.c.job_id)
    ).all()
    for job_id in job_ids:
        document = connection.scalar(
            sa.select(results.c.document).where(results.c.job_id == job_id)
        )
        slice_ = {key: value for key, value in document.items() if key != "summary"}
        if not store_slice(session, job_id, slice_):
            raise RuntimeError(f"job {job_id}: its stored result could not be moved")
    if job_ids:
        log.info("moved %d results stored whole into the trace tables", len(job_ids))


def downgrade() -> None:
    raise CommandError("0002 is one-way: results stored whole are now traces; restore a backup")

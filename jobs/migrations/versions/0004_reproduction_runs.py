"""Reproduction runs, and the recall phase's gradient horizon on probes.

A reproduction run is a gallery reproduction started as sweeps, one per plan, and its verdict.
Probes of tasks with a recall phase (copy) store the horizon of that phase's gradient; the
probes already stored have none (NULL), as their runs did not record it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reproduction_runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("scale", sa.String(length=16), nullable=False),
        sa.Column("seeds", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("measured", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_reproduction_runs_created_at", "reproduction_runs", ["created_at"])
    op.create_index("ix_reproduction_runs_owner", "reproduction_runs", ["owner"])
    op.create_table(
        "reproduction_sweeps",
        sa.Column("sweep_id", sa.String(length=32), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("plan", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["sweep_id"], ["sweeps.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["run_id"], ["reproduction_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("sweep_id"),
    )
    op.create_index("ix_reproduction_sweeps_run_id", "reproduction_sweeps", ["run_id"])
    op.add_column("trace_probes", sa.Column("recall_horizon", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("trace_probes") as probes:  # SQLite copies the table to drop it
        probes.drop_column("recall_horizon")
    op.drop_index("ix_reproduction_sweeps_run_id", table_name="reproduction_sweeps")
    op.drop_table("reproduction_sweeps")
    op.drop_index("ix_reproduction_runs_owner", table_name="reproduction_runs")
    op.drop_index("ix_reproduction_runs_created_at", table_name="reproduction_runs")
    op.drop_table("reproduction_runs")

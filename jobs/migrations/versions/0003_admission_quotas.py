"""Admission quotas: submissions kept for the rate window, and lost runs counted apart.

Every API process counts an API key's submissions in the last minute from `submissions`; jobs
count the runs their worker lost (`attempts_lost`), which GRADFLOW_MAX_ATTEMPTS bounds, apart
from their starts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_submissions_owner_at", "submissions", ["owner", "at"])
    # The default fills the rows already there: no run of theirs is counted as lost.
    op.add_column(
        "jobs", sa.Column("attempts_lost", sa.Integer(), server_default="0", nullable=False)
    )


def downgrade() -> None:
    with op.batch_alter_table("jobs") as jobs:  # SQLite copies the table to drop a column
        jobs.drop_column("attempts_lost")
    op.drop_index("ix_submissions_owner_at", table_name="submissions")
    op.drop_table("submissions")

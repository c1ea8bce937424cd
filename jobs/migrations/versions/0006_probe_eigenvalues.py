"""Probe eigenvalues: each stored probe may hold its layers' recurrence spectra.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("trace_probes", sa.Column("eigenvalues", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    op.drop_column("trace_probes", "eigenvalues")

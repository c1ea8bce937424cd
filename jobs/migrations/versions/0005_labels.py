"""Labels and sortable numbers: experiments and sweeps get a name, notes and tags, and jobs
the summary numbers lists sort by.

Tags are rows of `job_tags` and `sweep_tags` (indexed by tag), so a tag filter is a join on
SQLite and PostgreSQL alike. The numbers (final_loss, eval_metric, the top layer's last
gradient horizon, steps_per_second) are copied out of every stored summary here, as
store.finish_job copies them from now on; the copy uses store.summary_columns as it is at this
revision: a later change to it must give this revision a copy of what it uses.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from jobs.store import summary_columns

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

NUMBERS = {
    "final_loss": sa.Double(),
    "eval_metric": sa.Double(),
    "horizon": sa.Integer(),
    "steps_per_second": sa.Double(),
}


def upgrade() -> None:
    for owner, table in (("job", "jobs"), ("sweep", "sweeps")):
        op.create_table(
            f"{owner}_tags",
            sa.Column(f"{owner}_id", sa.String(length=32), nullable=False),
            sa.Column("tag", sa.String(length=64), nullable=False),
            sa.ForeignKeyConstraint([f"{owner}_id"], [f"{table}.id"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint(f"{owner}_id", "tag"),
        )
        op.create_index(f"ix_{owner}_tags_tag", f"{owner}_tags", ["tag", f"{owner}_id"])
        op.add_column(table, sa.Column("name", sa.String(length=200), nullable=True))
        op.add_column(table, sa.Column("notes", sa.Text(), nullable=True))
    for name, kind in NUMBERS.items():
        op.add_column("jobs", sa.Column(name, kind, nullable=True))
    _copy_numbers()


def _copy_numbers() -> None:
    """Every ended job's numbers, from its stored summary."""
    jobs = sa.table(
        "jobs",
        sa.column("id", sa.String()),
        sa.column("summary", sa.JSON()),
        *(sa.column(name, kind) for name, kind in NUMBERS.items()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(jobs.c.id, jobs.c.summary).where(jobs.c.summary.is_not(None))
    ).all()
    for row in rows:
        if not row.summary:  # a JSON null
            continue
        values = summary_columns(row.summary)
        connection.execute(sa.update(jobs).where(jobs.c.id == row.id).values(**values))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as jobs:  # SQLite copies the table to drop a column
        for name in [*NUMBERS, "notes", "name"]:
            jobs.drop_column(name)
    with op.batch_alter_table("sweeps") as sweeps:
        sweeps.drop_column("notes")
        sweeps.drop_column("name")
    for owner in ("sweep", "job"):
        op.drop_index(f"ix_{owner}_tags_tag", table_name=f"{owner}_tags")
        op.drop_table(f"{owner}_tags")

"""Alembic's environment: runs the revisions in versions/ against this service's database.

At start-up jobs/migrate.py hands over a connection already inside the transaction that holds
the migration lock (config.attributes["connection"]). A developer's `alembic` command (its
configuration is [tool.alembic] in pyproject.toml) gets none and takes the same kind of
transaction on the database the settings name (DATABASE_URL, else SQLite in the data directory).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from jobs.models import Base


def run(connection: Connection) -> None:
    # Batch mode: SQLite alters a table by copying it, which autogenerate then writes for us.
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    from jobs.db import make_engine
    from jobs.migrate import locked_transaction
    from jobs.settings import Settings

    with locked_transaction(make_engine(Settings())) as own:
        run(own)

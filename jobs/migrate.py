"""Bring the database to the newest schema revision (jobs/migrations/versions/) at every start.

The API and the worker start together and both call this: the first to take the migration lock
upgrades, and the other then finds the database at the newest revision, with nothing to do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, inspect

from jobs.locks import begin_locked

# What a database made before the schema had revisions is at (it has tables, no version).
BEFORE_REVISIONS = "0001"


def alembic_config(connection: Connection | None = None) -> Config:
    """The migration environment, configured in code: nothing to find on disk but the package.
    With a connection, the revisions run on it (jobs/migrations/env.py)."""
    config = Config()
    config.set_main_option("script_location", "jobs:migrations")
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine) -> None:
    with locked_transaction(engine) as connection:
        config = alembic_config(connection)
        tables = inspect(connection).get_table_names()
        if "jobs" in tables and "alembic_version" not in tables:
            command.stamp(config, BEFORE_REVISIONS)
        command.upgrade(config, "head")


@contextmanager
def locked_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that holds the migration lock, committed on leaving."""
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch revision copies a table and drops the original, and with foreign keys on
            # that drop deletes every row referencing it (ON DELETE CASCADE). The pragma is
            # ignored inside a transaction, so it comes first; the connection is discarded
            # afterwards rather than pooled with foreign keys off.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            # The other process starting at once waits here until this one's upgrade commits.
            begin_locked(connection, "migrations")
            yield connection
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"the migration broke references: {broken[:5]}")
            connection.commit()
        finally:
            if sqlite:
                connection.invalidate()

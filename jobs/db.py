"""Engine and sessions for SQLite (the default) or PostgreSQL (DATABASE_URL)."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from jobs.migrate import upgrade
from jobs.settings import Settings

# The API and the worker are separate processes writing one SQLite file: WAL lets readers run
# beside the writer, and the busy timeout makes a writer wait for the lock instead of failing.
SQLITE_BUSY_TIMEOUT_MS = 30_000
WAL_RETRY_S = 0.01


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    _use_wal(cursor)
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # SQLite ignores ON DELETE CASCADE unless asked, per connection.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _use_wal(cursor: sqlite3.Cursor) -> None:
    """Switching a database to WAL needs it to itself, and SQLite answers "locked" at once,
    without the busy timeout, while another connection switches it: the API and the worker
    opening a new database together. Retry until the busy timeout would have run out."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(WAL_RETRY_S)


def make_engine(settings: Settings) -> Engine:
    url = settings.sqlalchemy_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    return create_engine(url, pool_pre_ping=True)


def init_db(engine: Engine) -> sessionmaker[Session]:
    """Bring the schema to the newest revision (jobs/migrate.py) and return the session
    factory."""
    upgrade(engine)
    return sessionmaker(engine, expire_on_commit=False)

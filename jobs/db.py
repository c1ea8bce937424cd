"""Engine and sessions for SQLite (the default) or PostgreSQL (DATABASE_URL)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from jobs.migrate import add_job_columns, convert_legacy_results
from jobs.models import Base
from jobs.settings import Settings

# The API and the worker are separate processes writing one SQLite file: WAL lets readers run
# beside the writer, and the busy timeout makes a writer wait for the lock instead of failing.
SQLITE_BUSY_TIMEOUT_MS = 30_000
CREATE_ATTEMPTS = 5


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # SQLite ignores ON DELETE CASCADE unless asked, per connection.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(settings: Settings) -> Engine:
    url = settings.sqlalchemy_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    return create_engine(url, pool_pre_ping=True)


def init_db(engine: Engine) -> sessionmaker[Session]:
    """Create missing tables, migrate what an earlier version made (jobs/migrate.py), and
    return the session factory."""
    sessions = sessionmaker(engine, expire_on_commit=False)
    # The API and the worker start together; both check-then-create, so the loser of that race
    # sees "already exists" once and finds the tables there on the next try.
    for attempt in range(CREATE_ATTEMPTS):
        try:
            Base.metadata.create_all(engine)
            add_job_columns(engine)
            convert_legacy_results(engine, sessions)
            break
        except DBAPIError:
            if attempt == CREATE_ATTEMPTS - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    return sessions

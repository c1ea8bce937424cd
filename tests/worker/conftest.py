"""A worker's database, polled often so tests run fast: a temporary SQLite file, or (for tests
that parametrize `database` indirectly with "postgresql") a schema of the machine's
PostgreSQL, dropped afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from api.db import init_db, make_engine
from api.settings import Settings
from tests.postgres import POSTGRES_URL, postgres_reachable, postgres_schema, schema_url


@pytest.fixture
def database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The DATABASE_URL of the test: None is SQLite in its data directory."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield None
        return
    if not postgres_reachable():
        pytest.skip(f"no PostgreSQL at {POSTGRES_URL} (set GRADFLOW_TEST_POSTGRES_URL)")
    with postgres_schema() as schema:
        yield schema_url(schema)


@pytest.fixture
def settings(tmp_path: Path, database: str | None) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database,
        progress_interval_s=0.05,
        cancel_check_interval_s=0.05,
    )


@pytest.fixture
def sessions(settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings)
    yield init_db(engine)
    engine.dispose()  # before a PostgreSQL schema is dropped

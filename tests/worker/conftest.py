"""A worker's database, polled often so tests run fast: a temporary SQLite file, or for tests
that parametrize `database` (tests/conftest.py) with "postgresql" a PostgreSQL schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from jobs.db import init_db, make_engine
from jobs.settings import Settings


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

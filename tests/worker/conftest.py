"""A worker's database: a temporary SQLite file, polled often so tests run fast."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from api.db import init_db, make_engine
from api.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, progress_interval_s=0.05, cancel_check_interval_s=0.05)


@pytest.fixture
def sessions(settings: Settings) -> sessionmaker[Session]:
    return init_db(make_engine(settings))

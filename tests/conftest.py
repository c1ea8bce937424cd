"""Fixtures every suite may use."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres import POSTGRES_URL, postgres_reachable, postgres_schema, schema_url
from tests.support.waits import scaled


@pytest.fixture(scope="session", autouse=True)
def testclient_host() -> Iterator[None]:
    """Starlette's TestClient names the host `testserver` in every request: the API answers
    only to the host names it is given (loopback ones by default), so every app a test makes
    from the environment's settings is given this one too."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADFLOW_ALLOWED_HOSTS", "testserver")
        yield


# Folders whose every test starts real processes (uvicorn, Celery workers, run processes).
PROCESS_FOLDERS = ("e2e", "live", "worker")
TESTS = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # The default time limit of a test (pyproject's `timeout`) scales like every wait, so a
    # loaded machine that sets GRADFLOW_TEST_TIMEOUT_SCALE gets longer limits too.
    if config.getoption("timeout", None) is None and "PYTEST_TIMEOUT" not in os.environ:
        config.option.timeout = scaled(float(config.getini("timeout")))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The trained reproductions take minutes each: the default run skips them, and
    # `-m reproduction` (or any -m naming them) runs them.
    wanted = "reproduction" in (config.getoption("markexpr") or "")
    skip = pytest.mark.skip(reason="a trained reproduction; run with -m reproduction")
    for item in items:
        if item.path.relative_to(TESTS).parts[0] in PROCESS_FOLDERS:
            item.add_marker(pytest.mark.processes)
        if not wanted and item.get_closest_marker("reproduction"):
            item.add_marker(skip)


@pytest.fixture
def database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The DATABASE_URL of the test: None is SQLite in its data directory; a test that
    parametrizes this fixture (indirect) with "postgresql" gets a fresh PostgreSQL schema,
    dropped afterwards."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield None
        return
    if not postgres_reachable():
        pytest.skip(f"no PostgreSQL at {POSTGRES_URL} (set GRADFLOW_TEST_POSTGRES_URL)")
    with postgres_schema() as schema:
        yield schema_url(schema)

"""Fixtures every suite may use."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.postgres import POSTGRES_URL, postgres_reachable, postgres_schema, schema_url


@pytest.fixture(scope="session", autouse=True)
def testclient_host() -> Iterator[None]:
    """Starlette's TestClient names the host `testserver` in every request: the API answers
    only to the host names it is given (loopback ones by default), so every app a test makes
    from the environment's settings is given this one too."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADFLOW_ALLOWED_HOSTS", "testserver")
        yield


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

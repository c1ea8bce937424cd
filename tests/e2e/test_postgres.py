"""The service with PostgreSQL as its database, in a schema of its own dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import psycopg
import pytest

from tests.e2e.conftest import REAL_REDIS_URL, check_small_experiment, redis_reachable

POSTGRES_URL = os.environ.get(
    "GRADFLOW_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def postgres_reachable() -> bool:
    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=2).close()
    except psycopg.Error:
        return False
    return True


pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(
        not postgres_reachable(),
        reason=f"no PostgreSQL at {POSTGRES_URL} (set GRADFLOW_TEST_POSTGRES_URL)",
    ),
    pytest.mark.skipif(not redis_reachable(REAL_REDIS_URL), reason=f"no Redis at {REAL_REDIS_URL}"),
]


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh schema, dropped afterwards."""
    name = f"gradflow_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {name}")
        yield name
        connection.execute(f"DROP SCHEMA {name} CASCADE")


def schema_url(schema: str) -> str:
    # libpq's `options` sets the search path, so the service's tables land in the schema.
    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


@pytest.fixture(scope="module")
def schema() -> Iterator[str]:
    with postgres_schema() as name:
        yield name


@pytest.fixture(scope="module")
def client(stack_factory, schema: str) -> httpx.Client:
    return stack_factory(REDIS_URL=REAL_REDIS_URL, DATABASE_URL=schema_url(schema))


def test_small_experiment_on_postgres(client: httpx.Client, schema: str) -> None:
    check_small_experiment(client)
    assert client.get("/v1/health").json()["database"]["detail"] == "postgresql"
    with psycopg.connect(POSTGRES_URL) as connection:
        tables = connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchall()
        assert {"jobs", "job_results", "workers"} <= {row[0] for row in tables}
        stored = connection.execute(f"SELECT status FROM {schema}.jobs").fetchall()
        assert stored == [("succeeded",)]


def test_list_and_cancel_on_postgres(client: httpx.Client) -> None:
    page = client.get("/v1/experiments?status=succeeded&cell=tanh&task=adding&limit=1").json()
    assert page["total"] == 1 and len(page["items"]) == 1
    job_id = page["items"][0]["id"]
    assert client.post(f"/v1/experiments/{job_id}/cancel").status_code == 409
    assert client.delete(f"/v1/experiments/{job_id}").status_code == 204
    assert client.get("/v1/experiments").json()["total"] == 0

"""The service with PostgreSQL as its database, in a schema of its own dropped afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import psycopg
import pytest

from tests.support.postgres import POSTGRES_URL, postgres_reachable, postgres_schema, schema_url
from tests.support.served import check_small_experiment
from tests.support.stack import REAL_REDIS_URL, redis_reachable
from tests.support.waits import scaled

pytestmark = [
    pytest.mark.timeout(scaled(180)),
    pytest.mark.skipif(
        not postgres_reachable(),
        reason=f"no PostgreSQL at {POSTGRES_URL} (set GRADFLOW_TEST_POSTGRES_URL)",
    ),
    pytest.mark.skipif(not redis_reachable(REAL_REDIS_URL), reason=f"no Redis at {REAL_REDIS_URL}"),
]


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
        assert {"jobs", "trace_blocks", "trace_probes", "workers"} <= {row[0] for row in tables}
        stored = connection.execute(f"SELECT status FROM {schema}.jobs").fetchall()
        assert stored == [("succeeded",)]


def test_list_and_cancel_on_postgres(client: httpx.Client) -> None:
    page = client.get("/v1/experiments?status=succeeded&cell=tanh&task=adding&limit=1").json()
    assert page["total"] == 1 and len(page["items"]) == 1
    job_id = page["items"][0]["id"]
    assert client.post(f"/v1/experiments/{job_id}/cancel").status_code == 409
    assert client.delete(f"/v1/experiments/{job_id}").status_code == 204
    assert client.get("/v1/experiments").json()["total"] == 0

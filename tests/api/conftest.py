"""The API in-process (TestClient) on a temporary SQLite file and an embedded Redis broker."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

import gradcore
from api.app import create_app
from cli.serve import start_embedded_redis
from gradcore.result import ExperimentResult
from jobs import store, traces
from jobs.db import init_db, make_engine
from jobs.settings import Settings
from tests.support.postgres import POSTGRES_URL, postgres_reachable, postgres_schema, schema_url
from tests.support.specs import TINY_SPEC

# Long enough for downsampling to have something to cut: 120 steps, 13 probes.
RESULT_SPEC = {**TINY_SPEC, "steps": 120}


@pytest.fixture(scope="session")
def broker_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    redis_child, url = start_embedded_redis(tmp_path_factory.mktemp("redis"))
    yield url
    redis_child.stop()


@pytest.fixture
def settings(tmp_path: Path, broker_url: str) -> Settings:
    # No worker consumes this queue: submitted jobs stay queued, which these tests rely on. The
    # memory limit is fixed, so what is admitted does not depend on this machine's memory.
    return Settings(
        data_dir=tmp_path,
        redis_url=broker_url,
        queue=f"test-{uuid.uuid4().hex}",
        worker_memory_bytes=32 * 2**30,
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Settings]:
    """`settings` on SQLite, then on the machine's PostgreSQL in a schema of its own."""
    if request.param == "sqlite":
        yield settings
        return
    if not postgres_reachable():
        pytest.skip(f"no PostgreSQL at {POSTGRES_URL} (set GRADFLOW_TEST_POSTGRES_URL)")
    with postgres_schema() as schema:
        yield settings.model_copy(update={"database_url": schema_url(schema)})


@pytest.fixture
def database_sessions(database: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database)
    yield init_db(engine)
    engine.dispose()  # before the schema is dropped


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def sessions(client: TestClient):
    return client.app.state.sessions


@pytest.fixture(scope="session")
def trained() -> ExperimentResult:
    return gradcore.run(gradcore.ExperimentSpec(**RESULT_SPEC))


@pytest.fixture
def finished_job(sessions, trained: ExperimentResult) -> Callable[..., str]:
    """Submit RESULT_SPEC (or `spec`) and store `trained` (or `result`, run from that spec) as
    its result, as a worker would."""

    def finish(
        client: TestClient, spec: dict | None = None, result: ExperimentResult | None = None
    ) -> str:
        job_id = client.post("/v1/experiments", json=spec or RESULT_SPEC).json()["id"]
        assert store_result(sessions, job_id, result or trained) == "succeeded"
        return job_id

    return finish


def store_result(
    sessions: sessionmaker[Session], job_id: str, result: ExperimentResult
) -> str | None:
    """Run queued job `job_id` to its end with `result`, through the trace store as a worker
    does; its final status."""
    with sessions() as session:
        attempt = store.start_job(session, job_id, "test-worker")
        slice_ = result.model_dump(mode="json", exclude={"summary"})
        assert traces.append_slice(session, job_id, attempt, slice_)
        return store.finish_job(session, job_id, result.summary, attempt)

"""`python -m cli serve` as a user runs it: embedded Redis, SQLite, Ctrl-C stops everything,
and a job interrupted by Ctrl-C runs again at the next start."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.served import Served, check_small_experiment, start_serve
from tests.support.specs import LONG_SPEC
from tests.support.stack import scaled, submit, wait_for

pytestmark = pytest.mark.timeout(scaled(180))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("served")


@pytest.fixture
def served(data_dir: Path) -> Iterator[Served]:
    served = start_serve(data_dir)
    yield served
    served.kill()


def test_small_experiment_on_the_embedded_stack(served: Served) -> None:
    check_small_experiment(served.client)
    health = served.client.get("/v1/health").json()
    assert health["broker"] == {"ok": True, "detail": "redis"}
    assert health["database"]["detail"] == "sqlite"
    assert (served.data_dir / "gradflow.db").exists()


def test_ctrl_c_stops_everything_and_the_running_job_resumes_later(served: Served) -> None:
    job_id = submit(served.client, LONG_SPEC)
    wait_for(served.client, job_id, "running")
    assert served.interrupt() == 0
    assert "serve: stopped" in served.log and "Redis is now ready to exit" in served.log
    assert "put back in the queue" in served.log
    assert not (served.data_dir / "redis.sock").exists()
    with pytest.raises(httpx.TransportError):
        served.client.get("/v1/health")

    # The job waited in the embedded Redis's append-only file; the next start runs it afresh.
    again = start_serve(served.data_dir)
    try:
        job = wait_for(again.client, job_id, "running")
        assert job["started_at"] is not None
        assert again.client.post(f"/v1/experiments/{job_id}/cancel").status_code == 202
        assert wait_for(again.client, job_id, "cancelled", timeout=10)["status"] == "cancelled"
        assert again.interrupt() == 0
    finally:
        again.kill()

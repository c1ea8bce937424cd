"""`python -m cli serve` as a user runs it: embedded Redis, SQLite, Ctrl-C stops everything,
and a job interrupted by Ctrl-C runs again at the next start."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import (
    LONG_SPEC,
    READY_TIMEOUT_S,
    check_small_experiment,
    free_port,
    service_env,
    submit,
    wait_for,
)

pytestmark = pytest.mark.timeout(180)


@dataclass
class Served:
    process: subprocess.Popen
    data_dir: Path
    client: httpx.Client

    @property
    def log(self) -> str:
        return (self.data_dir / "serve.log").read_text(errors="replace")

    def interrupt(self) -> int:
        """Ctrl-C: the exit status of `cli serve`."""
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=30)


def serve(data_dir: Path) -> Served:
    port = free_port()
    env = service_env(GRADFLOW_DATA_DIR=str(data_dir), PORT=str(port))
    with (data_dir / "serve.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    served = Served(process, data_dir, httpx.Client(base_url=f"http://127.0.0.1:{port}"))
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, served.log
        try:
            if served.client.get("/v1/health").json()["status"] == "ok":
                return served
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"not healthy in {READY_TIMEOUT_S} s:\n{served.log}")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("served")


@pytest.fixture
def served(data_dir: Path) -> Iterator[Served]:
    served = serve(data_dir)
    yield served
    if served.process.poll() is None:
        served.interrupt()


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
    again = serve(served.data_dir)
    try:
        job = wait_for(again.client, job_id, "running")
        assert job["started_at"] is not None
        assert again.client.post(f"/v1/experiments/{job_id}/cancel").status_code == 202
        assert wait_for(again.client, job_id, "cancelled", timeout=10)["status"] == "cancelled"
    finally:
        assert again.interrupt() == 0

"""`python -m cli serve` as a user runs it: embedded Redis, SQLite, Ctrl-C stops everything."""

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

from tests.e2e.conftest import READY_TIMEOUT_S, check_small_experiment, free_port, service_env

pytestmark = pytest.mark.timeout(180)


@dataclass
class Served:
    process: subprocess.Popen
    data_dir: Path
    client: httpx.Client

    @property
    def log(self) -> str:
        return (self.data_dir / "serve.log").read_text(errors="replace")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("served")
    port = free_port()
    env = service_env(GRADFLOW_DATA_DIR=str(data_dir), PORT=str(port))
    with (data_dir / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
    served = Served(process, data_dir, client)
    _wait_healthy(served)
    yield served
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def _wait_healthy(served: Served) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        assert served.process.poll() is None, served.log
        try:
            if served.client.get("/v1/health").json()["status"] == "ok":
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"not healthy in {READY_TIMEOUT_S} s:\n{served.log}")


def test_small_experiment_on_the_embedded_stack(served: Served) -> None:
    check_small_experiment(served.client)
    health = served.client.get("/v1/health").json()
    assert health["broker"] == {"ok": True, "detail": "redis"}
    assert health["database"]["detail"] == "sqlite"
    assert (served.data_dir / "gradflow.db").exists()


def test_ctrl_c_stops_every_process(served: Served) -> None:
    served.process.send_signal(signal.SIGINT)
    assert served.process.wait(timeout=30) == 0
    assert "serve: stopped" in served.log and "Redis is now ready to exit" in served.log
    assert not (served.data_dir / "redis.sock").exists()
    with pytest.raises(httpx.TransportError):
        served.client.get("/v1/health")

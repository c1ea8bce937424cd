"""One live service (uvicorn API and a Celery worker) for the whole session, holding a finished
sweep, shared by the tests of sweeps, events, the client and the dashboard.

It uses the machine's Redis when reachable and an embedded one otherwise, so these tests run
on any machine that can run the service.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from cli.serve import start_embedded_redis
from tests.support.stack import REAL_REDIS_URL, Stack, drop_queue, free_port, redis_reachable
from tests.support.waits import wait_until

# Tiny runs: a second or two each on a laptop CPU. The low clipping threshold makes clipping
# fire on some steps, so the dashboard has clip events to mark.
TINY = {"task": "adding", "seq_len": 10, "hidden_size": 8, "steps": 20, "probe_every": 5,
        "batch_size": 8, "clipping": {"mode": "norm", "max_norm": 0.5}}  # fmt: skip
GRID = {"cell": ["tanh", "gru"], "seq_len": [10, 16]}
SEEDS = 2
SWEEP_TIMEOUT_S = 120.0


@dataclass
class Live:
    url: str
    http: httpx.Client
    sweep: dict  # finished


def wait_sweep(http: httpx.Client, sweep_id: str, timeout: float = SWEEP_TIMEOUT_S) -> dict:
    def finished() -> dict | None:
        sweep = http.get(f"/v1/sweeps/{sweep_id}").json()
        return sweep if sweep["status"] == "finished" else None

    return wait_until(finished, timeout, f"sweep {sweep_id} finished")


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    data_dir = tmp_path_factory.mktemp("live")
    embedded = None
    redis_url = REAL_REDIS_URL
    if not redis_reachable(REAL_REDIS_URL):
        embedded, redis_url = start_embedded_redis(tmp_path_factory.mktemp("redis"))
    port = free_port()
    stack = Stack(
        data_dir,
        {
            "GRADFLOW_DATA_DIR": str(data_dir),
            "PORT": str(port),
            "REDIS_URL": redis_url,
            "GRADFLOW_QUEUE": f"gradflow-live-{uuid.uuid4().hex[:12]}",
            "GRADFLOW_PROGRESS_INTERVAL_S": "0.1",
            "GRADFLOW_EVENTS_POLL_INTERVAL_S": "0.1",
        },
    )
    try:
        http = stack.start()
        body = {"base": TINY, "grid": GRID, "seeds": SEEDS}
        response = http.post("/v1/sweeps", json=body)
        assert response.status_code == 201, response.text
        yield Live(f"http://127.0.0.1:{port}", http, wait_sweep(http, response.json()["id"]))
    finally:
        stack.stop()
        if embedded is not None:
            embedded.stop()
        else:
            drop_queue(redis_url, stack.env["GRADFLOW_QUEUE"])

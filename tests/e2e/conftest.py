"""Real processes over HTTP: the API under uvicorn and a Celery worker, as `cli serve` runs them.

Each stack gets its own data directory and Celery queue, so runs against the machine's shared
Redis never take each other's jobs.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import redis

from api.settings import Settings
from cli.serve import Child, api_command, worker_command
from tests.specs import TINY_SPEC
from worker.reconciler import UNACKED_KEY

REAL_REDIS_URL = os.environ.get("GRADFLOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
READY_TIMEOUT_S = 90.0

# Minutes of training unless cancelled: for observing a running job.
LONG_SPEC = {**TINY_SPEC, "seq_len": 100, "hidden_size": 64, "steps": 100_000}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def service_env(**values: str) -> dict[str, str]:
    """This environment without any service configuration of its own, plus `values`."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "HOST", "PORT")
        and not key.startswith("GRADFLOW_")
    }
    return {**inherited, **values}


def redis_reachable(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@dataclass
class Stack:
    """The API and one worker; `client` talks to the API."""

    data_dir: Path
    env: dict[str, str]
    children: list[Child] = field(default_factory=list)

    def start(self) -> httpx.Client:
        # The children read their configuration from `env`; these three name the commands.
        settings = Settings(
            data_dir=self.data_dir, queue=self.env["GRADFLOW_QUEUE"], port=int(self.env["PORT"])
        )
        env = service_env(**self.env)
        for name, command in (("api", api_command(settings)), ("worker", worker_command(settings))):
            with (self.data_dir / f"{name}.log").open("wb") as log:
                process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
            self.children.append(Child(name, process))
        client = httpx.Client(base_url=f"http://127.0.0.1:{settings.port}", timeout=10)
        self._wait_ready(client)
        return client

    def _wait_ready(self, client: httpx.Client) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            for child in self.children:
                if child.process.poll() is not None:
                    raise RuntimeError(f"{child.name} exited early:\n{self.logs()}")
            try:
                if client.get("/v1/health").json()["status"] == "ok":
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the stack was not healthy in {READY_TIMEOUT_S} s:\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}"
            for path in sorted(self.data_dir.glob("*.log"))
        )

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop(timeout=20)


def new_stack(data_dir: Path, **env: str) -> Stack:
    """A stack (not started) with its own data directory, port and queue, plus `env`."""
    return Stack(
        data_dir,
        {
            "GRADFLOW_DATA_DIR": str(data_dir),
            "PORT": str(free_port()),
            "GRADFLOW_QUEUE": f"gradflow-test-{uuid.uuid4().hex[:12]}",
            "GRADFLOW_PROGRESS_INTERVAL_S": "0.2",
            "GRADFLOW_CANCEL_CHECK_INTERVAL_S": "0.2",
            **env,
        },
    )


def stop_stack(stack: Stack) -> None:
    stack.stop()
    if "REDIS_URL" in stack.env:
        drop_queue(stack.env["REDIS_URL"], stack.env["GRADFLOW_QUEUE"])


@pytest.fixture(scope="module")
def stack_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """Start stacks with extra environment; all are stopped when the module ends."""
    stacks: list[Stack] = []

    def start(**env: str) -> httpx.Client:
        stacks.append(new_stack(tmp_path_factory.mktemp("stack"), **env))
        return stacks[-1].start()

    yield start
    for stack in stacks:
        stop_stack(stack)


def drop_queue(url: str, queue: str) -> None:
    client = redis.Redis.from_url(url)
    # The queue and kombu's bookkeeping keys for it all carry the queue's (unique) name.
    for key in client.scan_iter(match=f"*{queue}*"):
        client.delete(key)
    # A killed worker's message stays in kombu's shared unacked hash: [message, exchange, queue].
    for tag, entry in client.hscan_iter(UNACKED_KEY):
        if json.loads(entry)[2] == queue:
            client.hdel(UNACKED_KEY, tag)
            client.zrem(f"{UNACKED_KEY}_index", tag)
    client.close()


def submit(client: httpx.Client, spec: dict) -> str:
    response = client.post("/v1/experiments", json=spec)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def wait_for(client: httpx.Client, job_id: str, *statuses: str, timeout: float = 60.0) -> dict:
    """Poll the job until its status is one of `statuses` (and, for running, it has begun)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/experiments/{job_id}").json()
        begun = job["status"] != "running" or job["progress"]["step"] > 0
        if job["status"] in statuses and begun:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s, not {statuses}")


def check_small_experiment(client: httpx.Client) -> None:
    """Submit TINY_SPEC, poll it to succeeded, and check its results' shapes and values."""
    job_id = submit(client, TINY_SPEC)
    job = wait_for(client, job_id, "succeeded", "failed", "diverged")
    assert job["status"] == "succeeded", job["error"]
    assert job["progress"]["step"] == job["progress"]["total"] == 30
    assert job["progress"]["fraction"] == 1.0
    assert job["started_at"] <= job["finished_at"]
    assert job["summary"]["outcome"] == "completed" and job["summary"]["steps_completed"] == 30

    result = client.get(f"/v1/experiments/{job_id}/results").json()
    probes = result["hidden_grad"]
    assert probes["step"] == [0, 10, 20, 29]
    assert probes["time_steps"] == 20 and probes["layers"] == ["layer0"]
    for probe, horizons in zip(probes["norm"], probes["horizon"], strict=True):
        curve = probe[0]
        assert len(curve) == 20 and all(value >= 0 for value in curve)
        # The gradient is largest at the end of the sequence, where the loss reads the state.
        assert curve[-1] == max(curve) > 0
        assert 1 <= horizons[0] <= 20
    for name in ("loss", "grad_norm", "weight_change"):
        assert result[name]["step"] == list(range(30)), name
    assert len(result["loss"]["loss"]) == len(result["grad_norm"]["total"]) == 30
    assert all(len(v) == 30 for v in result["weight_change"]["per_layer"].values())
    assert result["summary"] == job["summary"]

    cut = client.get(f"/v1/experiments/{job_id}/results?fields=loss&max_points=8").json()
    assert list(cut) == ["loss", "partial", "last_step"] and len(cut["loss"]["step"]) <= 8
    assert cut["partial"] is False and cut["last_step"] == 29
    assert cut["loss"]["step"][0] == 0 and cut["loss"]["step"][-1] == 29
    assert min(cut["loss"]["loss"]) == min(result["loss"]["loss"])

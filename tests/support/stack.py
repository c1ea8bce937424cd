"""Real processes over HTTP: the API under uvicorn and Celery workers, as `cli serve` starts them.

Each stack gets its own data directory and Celery queue, so runs against the machine's shared
Redis never take each other's jobs. Every wait is a deadline on a condition, multiplied by
GRADFLOW_TEST_TIMEOUT_SCALE (default 1): a loaded machine or a slow CI runner sets it higher.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis

from cli.serve import Child, api_command, worker_command
from jobs.settings import Settings
from tests.support.waits import scaled
from worker.reconciler import drop_unacked

REAL_REDIS_URL = os.environ.get("GRADFLOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
READY_TIMEOUT_S = scaled(90.0)


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


def drop_queue(url: str, queue: str) -> None:
    client = redis.Redis.from_url(url)
    # The queue and kombu's bookkeeping keys for it all carry the queue's (unique) name.
    for key in client.scan_iter(match=f"*{queue}*"):
        client.delete(key)
    # A killed worker's message stays in kombu's unacked hash, shared by every queue.
    drop_unacked(client, queue)
    client.close()


def submit(client: httpx.Client, spec: dict) -> str:
    response = client.post("/v1/experiments", json=spec)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def wait_for(client: httpx.Client, job_id: str, *statuses: str, timeout: float = 60.0) -> dict:
    """Poll the job until its status is one of `statuses` (and, for running, it has begun), for
    at most `timeout` seconds, scaled."""
    timeout = scaled(timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/experiments/{job_id}").json()
        begun = job["status"] != "running" or job["progress"]["step"] > 0
        if job["status"] in statuses and begun:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s, not {statuses}")

"""Real processes over HTTP: the API under uvicorn and a Celery worker, as `cli serve` runs them,
or `cli serve` itself.

Each stack gets its own data directory and Celery queue, so runs against the machine's shared
Redis never take each other's jobs. Every wait is a deadline on a condition, multiplied by
GRADFLOW_TEST_TIMEOUT_SCALE (default 1): a loaded machine or a slow CI runner sets it higher.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import redis

from cli.serve import Child, api_command, worker_command
from jobs.settings import Settings
from tests.specs import TINY_SPEC
from tests.waits import scaled
from worker.reconciler import drop_unacked

REAL_REDIS_URL = os.environ.get("GRADFLOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
READY_TIMEOUT_S = scaled(90.0)

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


@dataclass
class Served:
    """`python -m cli serve` run by a test; its output goes to <data dir>/serve.log."""

    process: subprocess.Popen
    data_dir: Path
    client: httpx.Client
    database_url: str | None = None  # None: SQLite in data_dir

    @property
    def log(self) -> str:
        return (self.data_dir / "serve.log").read_text(errors="replace")

    def interrupt(self) -> int:
        """Ctrl-C: the exit status of `cli serve`."""
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=scaled(30))

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log
            try:
                if self.client.get("/v1/health").json()["status"] == "ok":
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"not healthy in {READY_TIMEOUT_S} s:\n{self.log}")

    def children(self) -> dict[str, int]:
        """The pid of each child running now: "redis", "api", "worker"."""
        kinds = {"redis-server": "redis", "uvicorn": "api", "celery": "worker"}
        found = {}
        for pid in child_pids(self.process.pid):
            with contextlib.suppress(OSError):  # it may have exited meanwhile
                # redis-server rewrites its title as one string, "<path> *:0"; others keep argv.
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").split()
                words = {Path(word.decode()).name for word in command}
                found.update({kind: pid for word, kind in kinds.items() if word in words})
        return found

    def kill(self) -> None:
        """Stop `cli serve` with Ctrl-C, then SIGKILL whatever it started that is still alive
        (should it have died or hung): every process with this data directory in its
        environment, which `cli serve` passes on to its children and theirs."""
        if self.process.poll() is None:
            try:
                self.interrupt()
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        marker = f"GRADFLOW_DATA_DIR={self.data_dir}".encode()
        for environ in Path("/proc").glob("[0-9]*/environ"):
            with contextlib.suppress(OSError):
                if marker in environ.read_bytes().split(b"\0"):
                    os.kill(int(environ.parent.name), signal.SIGKILL)
        self.client.close()


def child_pids(parent: int) -> list[int]:
    """Pids of the live children of process `parent`, read from /proc."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # The command name in parentheses may hold spaces; the parent pid follows the state.
            state, ppid = stat.read_text().rsplit(")", 1)[1].split()[:2]
            if int(ppid) == parent and state != "Z":
                pids.append(int(stat.parent.name))
    return pids


def start_serve(data_dir: Path, **env: str) -> Served:
    """`python -m cli serve` on a free port with `data_dir`, plus `env`, once healthy."""
    port = free_port()
    env = service_env(GRADFLOW_DATA_DIR=str(data_dir), PORT=str(port), **env)
    with (data_dir / "serve.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}")
    served = Served(process, data_dir, client, env.get("DATABASE_URL"))
    try:
        served.wait_healthy()
    except BaseException:
        served.kill()
        raise
    return served


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

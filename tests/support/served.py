"""`python -m cli serve` run by a test, as a user runs it, and the check of a small experiment
through any running service."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.specs import TINY_SPEC
from tests.support.stack import READY_TIMEOUT_S, free_port, service_env, submit, wait_for
from tests.support.waits import scaled


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

"""`python -m cli serve` keeps the service up when one of its children dies: the whole Celery
worker, the embedded Redis or the API is killed with SIGKILL; the supervisor restarts it, the
service is healthy again and jobs finish. Each test owns its `cli serve` and kills everything it
started at the end."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import sessionmaker

import gradcore
from gradcore.slices import TRACE_PARTS
from gradcore.spec import ExperimentSpec
from jobs import store
from jobs.db import make_engine
from jobs.settings import Settings
from tests.support.midrun import TRIES, RunState, freeze_mid_run
from tests.support.served import Served, start_serve
from tests.support.specs import LONG_SPEC, RESUMABLE_SPEC, TINY_SPEC
from tests.support.stack import submit, wait_for
from tests.support.waits import scaled

pytestmark = pytest.mark.timeout(scaled(300))


@pytest.fixture
def served(tmp_path: Path, database: str | None) -> Iterator[Served]:
    # The reconciler acts only at a worker's start, on nothing younger than an hour: a killed
    # worker's job can come back only through its restarted successor, which knows its own
    # name, and a queued job's message only from Redis's append-only file.
    served = start_serve(
        tmp_path,
        GRADFLOW_HEARTBEAT_TIMEOUT_S="3600",
        GRADFLOW_RECONCILE_INTERVAL_S="3600",
        GRADFLOW_CHECKPOINT_INTERVAL_S="0.5",
        **({} if database is None else {"DATABASE_URL": database}),
    )
    try:
        yield served
    finally:
        served.kill()


def restarted(served: Served, name: str, old_pid: int) -> int:
    """Wait for `cli serve` to log the restart of `name` and to run a new one; its pid."""
    deadline = time.monotonic() + scaled(60)
    while time.monotonic() < deadline:
        assert served.process.poll() is None, served.log
        pid = served.children().get(name)
        if pid not in (None, old_pid) and f"serve: {name} restarted" in served.log:
            return pid
        time.sleep(0.1)
    raise AssertionError(f"{name} not restarted:\n{served.log}")


def job_row(served: Served, job_id: str) -> tuple[int, str | None]:
    """(attempts, worker) from the database, which the API does not show. A plain read: the
    service has migrated the schema, and a frozen worker may hold SQLite's write lock, which a
    migration's lock would wait for."""
    engine = make_engine(Settings(data_dir=served.data_dir, database_url=served.database_url))
    try:
        with sessionmaker(engine)() as session:
            job = store.get_job(session, job_id)
            return job.attempts, job.worker
    finally:
        engine.dispose()


def frozen_mid_run(served: Served, job_id: str, worker: int) -> bool:
    def state() -> RunState:
        job = served.client.get(f"/v1/experiments/{job_id}").json()
        running = job["status"] in ("queued", "running")
        return RunState(running, job["checkpoint_step"], job["progress"]["step"])

    # The whole worker: its process group holds any process it started.
    return freeze_mid_run(
        state, lambda sig: os.killpg(worker, sig), steps=RESUMABLE_SPEC["steps"], timeout=120
    )


@pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)
def test_a_killed_worker_is_restarted_and_its_job_resumes_as_if_uninterrupted(
    served: Served,
) -> None:
    for _ in range(TRIES):
        job_id = submit(served.client, RESUMABLE_SPEC)
        worker = served.children()["worker"]
        if frozen_mid_run(served, job_id, worker):
            break
        wait_for(served.client, job_id, "succeeded", "failed", timeout=180)
    else:
        pytest.fail(f"no run was caught between a checkpoint and its end in {TRIES} tries")
    _, claimant = job_row(served, job_id)
    os.killpg(worker, signal.SIGKILL)

    restarted(served, "worker", worker)
    exited = r"serve: worker exited \(SIGKILL\) after [\d.]+ s; restarting it in 0.5 s"
    assert re.search(exited, served.log)
    served.wait_healthy()
    job = wait_for(served.client, job_id, "succeeded", "failed", timeout=180)
    assert job["status"] == "succeeded", job["error"]
    attempts, successor = job_row(served, job_id)
    # Re-queued by the new worker process under the same Celery hostname, not by a timeout.
    assert attempts == 2
    assert successor.split("#")[0] == claimant.split("#")[0] and successor != claimant
    assert served.process.poll() is None
    # It went on from its last checkpoint, and ends with the numbers of an uninterrupted run.
    assert job["resumes"][0]["step"] > 0 and "interrupted" in job["resumes"][0]["reason"]
    served_result = served.client.get(f"/v1/experiments/{job_id}/results").json()
    whole = gradcore.run(ExperimentSpec(**RESUMABLE_SPEC)).model_dump(mode="json")
    for part in TRACE_PARTS:
        assert served_result[part] == whole[part], part


def test_a_killed_redis_is_restarted_and_keeps_its_queue(served: Served) -> None:
    # One job runs and holds the only worker, so the next waits in Redis's queue.
    running = submit(served.client, LONG_SPEC)
    wait_for(served.client, running, "running")
    queued = submit(served.client, TINY_SPEC)
    redis_pid = served.children()["redis"]
    os.kill(redis_pid, signal.SIGKILL)

    restarted(served, "redis", redis_pid)
    assert "serve: redis exited (SIGKILL)" in served.log
    served.wait_healthy()
    assert served.client.post(f"/v1/experiments/{running}/cancel").status_code == 202
    # The queued job's message came back from the append-only file.
    job = wait_for(served.client, queued, "succeeded", "failed", timeout=120)
    assert job["status"] == "succeeded", job["error"]
    assert served.process.poll() is None


def test_a_killed_api_is_restarted(served: Served) -> None:
    api_pid = served.children()["api"]
    os.kill(api_pid, signal.SIGKILL)
    restarted(served, "api", api_pid)
    served.wait_healthy()
    job_id = submit(served.client, TINY_SPEC)
    assert wait_for(served.client, job_id, "succeeded", "failed")["status"] == "succeeded"
    assert "serve: api exited (SIGKILL)" in served.log


def test_sigterm_stops_every_child_in_order(served: Served) -> None:
    children = served.children()
    assert set(children) == {"redis", "api", "worker"}
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(timeout=scaled(60)) == 0
    log = served.log
    # The worker first (it re-queues a running job), then the API, then Redis (it saves).
    ends = ("worker: Warm shutdown", "Finished server process", "Redis is now ready to exit")
    assert [log.index(end) for end in ends] == sorted(log.index(end) for end in ends)
    assert log.rstrip().endswith("serve: stopped")
    # `cli serve` waited for each child, so none is left, not even as a zombie.
    assert not any(Path(f"/proc/{pid}").exists() for pid in children.values())
    with pytest.raises(httpx.TransportError):
        served.client.get("/v1/health")

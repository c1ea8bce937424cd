"""Faults injected for real into a running service: the API, two Celery workers on the machine's
Redis, and SQLite or PostgreSQL. Workers are killed with SIGKILL mid-job, the queue is deleted
from Redis, the API is restarted; the database must end with every job run to a final state.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

import gradcore
from cli.serve import Child, api_command, worker_command
from gradcore.slices import TRACE_PARTS
from gradcore.spec import ExperimentSpec
from jobs import store, traces
from jobs.db import init_db, make_engine
from jobs.models import Job
from jobs.settings import Settings
from jobs.statuses import ACTIVE_STATUSES
from tests.support.midrun import TRIES, RunState, freeze_mid_run
from tests.support.postgres import POSTGRES_URL, postgres_reachable, postgres_schema, schema_url
from tests.support.specs import LONG_SPEC, MEDIUM_SPEC, RESUMABLE_SPEC, TINY_SPEC
from tests.support.stack import (
    REAL_REDIS_URL,
    Stack,
    new_stack,
    redis_reachable,
    service_env,
    stop_stack,
    submit,
    wait_for,
)
from tests.support.waits import scaled

pytestmark = [
    pytest.mark.timeout(scaled(240)),
    pytest.mark.skipif(not redis_reachable(REAL_REDIS_URL), reason=f"no Redis at {REAL_REDIS_URL}"),
]
# W_hh = 3I with ReLU overflows at once.
EXPLODING_SPEC = {
    **TINY_SPEC,
    "cell": "relu",
    "seq_len": 100,
    "init": {"recurrent": "identity", "recurrent_scale": 3},
}
FINAL = ("succeeded", "failed", "cancelled", "diverged")
WORKERS = ("alpha", "beta")


class FaultyStack:
    """The stack with workers by name, each of which can be killed and started again."""

    def __init__(self, stack: Stack, database_url: str | None) -> None:
        self.stack = stack
        self.settings = Settings(
            data_dir=stack.data_dir,
            database_url=database_url,
            queue=stack.env["GRADFLOW_QUEUE"],
            port=int(stack.env["PORT"]),
        )
        self.engine = make_engine(self.settings)
        self.sessions: sessionmaker[Session] = init_db(self.engine)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.settings.port}", timeout=10)

    def start(self, name: str) -> None:
        command = api_command(self.settings)
        if name != "api":
            command = worker_command(self.settings)
            command[command.index("--hostname") + 1] = f"{name}@%h"
        with (self.stack.data_dir / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(
                command, env=service_env(**self.stack.env), stdout=log, stderr=subprocess.STDOUT
            )
        self.stack.children.append(Child(name, process))

    def child(self, name: str) -> Child:
        return next(c for c in reversed(self.stack.children) if c.name == name)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        child = self.child(name)
        child.process.send_signal(sig)
        child.process.wait(timeout=30)
        self.stack.children.remove(child)

    def job(self, job_id: str) -> Job:
        with self.sessions() as session:
            return store.get_job(session, job_id)

    def wait_job(self, job_id: str, done, timeout: float = 90.0) -> Job:
        deadline = time.monotonic() + scaled(timeout)
        while time.monotonic() < deadline:
            job = self.job(job_id)
            if done(job):
                return job
            time.sleep(0.1)
        raise AssertionError(f"job {job_id}: {job.status}, attempt {job.attempts}\n{self.logs()}")

    def running_on(self, job_id: str, attempt: int) -> str:
        """Wait until the job runs its `attempt` and has made progress; the worker's name."""
        job = self.wait_job(
            job_id,
            lambda j: j.status == "running" and j.attempts == attempt and j.progress_step > 0,
        )
        return job.worker.split("@")[0]

    def starts(self, job_id: str) -> int:
        """How many times any worker started the job, by the workers' logs."""
        pattern = re.compile(rf"job {job_id} started")
        return sum(
            len(pattern.findall((self.stack.data_dir / f"{w}.log").read_text())) for w in WORKERS
        )

    def logs(self) -> str:
        return self.stack.logs()

    def restore(self) -> None:
        """Start whatever is down and cancel what still runs: the state every test begins in."""
        for name in ("api", *WORKERS):
            if not any(c.name == name and c.process.poll() is None for c in self.stack.children):
                self.start(name)
        self.stack._wait_ready(self.client)
        for status in ACTIVE_STATUSES:
            for job in self.client.get("/v1/experiments", params={"status": status}).json()[
                "items"
            ]:
                self.client.post(f"/v1/experiments/{job['id']}/cancel")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def faulty(request, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultyStack]:
    env = {
        "REDIS_URL": REAL_REDIS_URL,
        "GRADFLOW_HEARTBEAT_TIMEOUT_S": "3",
        "GRADFLOW_RECONCILE_INTERVAL_S": "0.5",
        "GRADFLOW_MAX_ATTEMPTS": "2",
        "GRADFLOW_CHECKPOINT_INTERVAL_S": "0.5",
    }
    with ExitStack() as cleanup:
        if request.param == "postgresql":
            if not postgres_reachable():
                pytest.skip(f"no PostgreSQL at {POSTGRES_URL} (set GRADFLOW_TEST_POSTGRES_URL)")
            env["DATABASE_URL"] = schema_url(cleanup.enter_context(postgres_schema()))
        stack = new_stack(tmp_path_factory.mktemp("faults"), **env)
        faulty = FaultyStack(stack, env.get("DATABASE_URL"))
        cleanup.callback(faulty.engine.dispose)
        cleanup.callback(stop_stack, stack)
        for name in ("api", *WORKERS):
            faulty.start(name)
        stack._wait_ready(faulty.client)
        yield faulty


@pytest.fixture(autouse=True)
def restored(faulty: FaultyStack) -> Iterator[None]:
    """After each test, even one that failed half-way, the stack is whole and idle again, so a
    slow or failed test cannot fail the next."""
    yield
    faulty.restore()


def test_two_workers_run_a_batch_each_job_exactly_once(faulty: FaultyStack) -> None:
    ids = [submit(faulty.client, TINY_SPEC) for _ in range(6)]
    exploding = submit(faulty.client, EXPLODING_SPEC)
    for job_id in ids:
        job = faulty.wait_job(job_id, lambda j: j.status in FINAL)
        assert (job.status, job.attempts, faulty.starts(job_id)) == ("succeeded", 1, 1)
    # Exploding gradients end diverged, with their result, and are never run again.
    job = faulty.wait_job(exploding, lambda j: j.status in FINAL)
    assert (job.status, job.attempts, faulty.starts(exploding)) == ("diverged", 1, 1)
    assert faulty.client.get(f"/v1/experiments/{exploding}/results").status_code == 200


def test_a_job_whose_worker_is_killed_runs_again_and_succeeds(faulty: FaultyStack) -> None:
    job_id = submit(faulty.client, MEDIUM_SPEC)
    victim = faulty.running_on(job_id, attempt=1)
    faulty.kill(victim)
    # The other worker's reconciler sees the heartbeat stop and re-queues it; it runs again.
    job = faulty.wait_job(job_id, lambda j: j.status in FINAL)
    assert job.status == "succeeded" and job.attempts == 2, job.error
    assert job.progress_step == MEDIUM_SPEC["steps"]
    # One set of traces: each step once, however many runs stored some.
    with faulty.sessions() as session:
        stored = traces.load_traces(session, job_id)
    assert stored["loss"]["step"] == list(range(MEDIUM_SPEC["steps"]))
    faulty.start(victim)


def test_a_job_that_keeps_losing_its_worker_fails_after_max_attempts(faulty) -> None:
    job_id = submit(faulty.client, LONG_SPEC)
    first = faulty.running_on(job_id, attempt=1)
    faulty.kill(first)
    second = faulty.running_on(job_id, attempt=2)
    assert second != first
    faulty.kill(second)
    faulty.start(first)  # a restarted worker's reconciler finds it lost a second time
    job = faulty.wait_job(job_id, lambda j: j.status in FINAL)
    assert job.status == "failed" and job.attempts == 2
    assert "stopped responding" in job.error and "GRADFLOW_MAX_ATTEMPTS" in job.error
    faulty.start(second)


def run_process(faulty: FaultyStack, worker: str, job_id: str) -> int:
    """The pid of the process the job trains in, as its worker logs it."""
    pattern = re.compile(rf"job {job_id} runs in process (\d+)")
    found = pattern.findall((faulty.stack.data_dir / f"{worker}.log").read_text())
    return int(found[-1])


def frozen_mid_run(faulty: FaultyStack, job_id: str, run_pid: int) -> bool:
    def state() -> RunState:
        job = faulty.job(job_id)
        return RunState(job.status == "running", job.checkpoint_step, job.progress_step)

    return freeze_mid_run(
        state, lambda sig: os.kill(run_pid, sig), steps=RESUMABLE_SPEC["steps"], timeout=90
    )


def test_a_killed_run_process_resumes_in_its_worker_and_ends_as_if_uninterrupted(
    faulty: FaultyStack,
) -> None:
    for _ in range(TRIES):
        job_id = submit(faulty.client, RESUMABLE_SPEC)
        name = faulty.running_on(job_id, attempt=1)
        worker_pid = faulty.child(name).process.pid
        run_pid = run_process(faulty, name, job_id)
        if frozen_mid_run(faulty, job_id, run_pid):
            break
        faulty.wait_job(job_id, lambda j: j.status in FINAL)
    else:
        pytest.fail(f"no run was caught between a checkpoint and its end in {TRIES} tries")
    os.kill(run_pid, signal.SIGKILL)
    job = faulty.wait_job(job_id, lambda j: j.status in FINAL)
    assert job.status == "succeeded" and job.attempts == 1, job.error
    # The worker survived its run, resumed it from the checkpoint, and is still the same process.
    assert faulty.child(name).process.poll() is None
    assert faulty.child(name).process.pid == worker_pid
    assert len(job.resumes) == 1 and "signal 9" in job.resumes[0]["reason"]
    answer = faulty.client.get(f"/v1/experiments/{job_id}").json()
    assert answer["resumes"][0]["step"] == job.resumes[0]["step"] > 0
    served = faulty.client.get(f"/v1/experiments/{job_id}/results").json()
    whole = gradcore.run(ExperimentSpec(**RESUMABLE_SPEC)).model_dump(mode="json")
    for part in TRACE_PARTS:
        assert served[part] == whole[part], part
    timing = {"wall_time_s", "steps_per_second"}
    assert {k: v for k, v in served["summary"].items() if k not in timing} == {
        k: v for k, v in whole["summary"].items() if k not in timing
    }


def test_queued_jobs_survive_losing_the_redis_queue(faulty: FaultyStack) -> None:
    for name in WORKERS:
        faulty.kill(name, signal.SIGTERM)
    ids = [submit(faulty.client, TINY_SPEC) for _ in range(3)]
    broker = redis.Redis.from_url(REAL_REDIS_URL)
    assert broker.delete(faulty.settings.queue) == 1
    assert broker.llen(faulty.settings.queue) == 0
    broker.close()
    for name in WORKERS:
        faulty.start(name)
    for job_id in ids:
        job = faulty.wait_job(job_id, lambda j: j.status in FINAL)
        assert job.status == "succeeded" and job.attempts == 1


def test_an_api_restart_loses_nothing(faulty: FaultyStack) -> None:
    before = faulty.client.get("/v1/experiments?limit=200").json()
    results = {
        item["id"]: faulty.client.get(f"/v1/experiments/{item['id']}/results?fields=summary")
        for item in before["items"]
    }
    faulty.kill("api", signal.SIGKILL)
    with pytest.raises(httpx.TransportError):
        faulty.client.get("/v1/health")
    faulty.start("api")
    faulty.stack._wait_ready(faulty.client)
    after = faulty.client.get("/v1/experiments?limit=200").json()
    assert after == before and after["total"] >= 12
    for job_id, result in results.items():
        again = faulty.client.get(f"/v1/experiments/{job_id}/results?fields=summary")
        assert (again.status_code, again.json()) == (result.status_code, result.json())
    # And it takes new work.
    job_id = submit(faulty.client, TINY_SPEC)
    assert wait_for(faulty.client, job_id, *FINAL)["status"] == "succeeded"

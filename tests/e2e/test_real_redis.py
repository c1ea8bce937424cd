"""The service on the machine's Redis with SQLite: a run end to end, cancel, delete, 409."""

from __future__ import annotations

import httpx
import pytest

from tests.support.served import check_small_experiment
from tests.support.specs import LONG_SPEC, TINY_SPEC
from tests.support.stack import REAL_REDIS_URL, redis_reachable, submit, wait_for
from tests.support.waits import scaled

pytestmark = [
    pytest.mark.timeout(scaled(180)),
    pytest.mark.skipif(
        not redis_reachable(REAL_REDIS_URL),
        reason=f"no Redis at {REAL_REDIS_URL} (set GRADFLOW_TEST_REDIS_URL to use another)",
    ),
]


@pytest.fixture(scope="module")
def client(stack_factory) -> httpx.Client:
    return stack_factory(REDIS_URL=REAL_REDIS_URL)


def test_small_experiment_end_to_end(client: httpx.Client) -> None:
    check_small_experiment(client)
    health = client.get("/v1/health").json()
    assert health["database"]["detail"] == "sqlite" and len(health["workers"]) == 1


def test_cancel_a_queued_and_a_running_job(client: httpx.Client) -> None:
    running = submit(client, LONG_SPEC)
    progress = wait_for(client, running, "running")["progress"]
    assert 0 < progress["fraction"] < 1 and progress["eta_seconds"] > 0
    assert progress["loss"] is not None
    busy = client.get(f"/v1/experiments/{running}/results?fields=loss")
    assert busy.status_code == 200 and busy.json()["partial"] is True  # what it stored so far

    # One worker, busy: the next job waits in the queue.
    queued = submit(client, TINY_SPEC)
    waiting = client.get(f"/v1/experiments/{queued}/results")
    assert waiting.status_code == 409 and "queued" in waiting.json()["detail"]
    response = client.post(f"/v1/experiments/{queued}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"

    response = client.post(f"/v1/experiments/{running}/cancel")
    assert response.status_code == 202
    assert response.json()["status"] == "running" and response.json()["cancel_requested"]
    job = wait_for(client, running, "cancelled", "succeeded", "failed", timeout=10)
    assert job["status"] == "cancelled"
    assert 0 < job["summary"]["steps_completed"] < LONG_SPEC["steps"]
    stopped = client.get(f"/v1/experiments/{running}/results?fields=summary").json()
    assert stopped["summary"]["outcome"] == "stopped"

    # The worker reaches the cancelled job's message, skips it, and runs the next one.
    after = submit(client, TINY_SPEC)
    assert wait_for(client, after, "succeeded", "failed")["status"] == "succeeded"
    skipped = client.get(f"/v1/experiments/{queued}").json()
    assert skipped["status"] == "cancelled" and skipped["started_at"] is None


def test_delete_a_running_job(client: httpx.Client) -> None:
    running = submit(client, LONG_SPEC)
    wait_for(client, running, "running")
    assert client.delete(f"/v1/experiments/{running}").status_code == 204
    assert client.get(f"/v1/experiments/{running}").status_code == 404
    # The worker let go of it: the next job runs.
    after = submit(client, TINY_SPEC)
    assert wait_for(client, after, "succeeded", "failed", timeout=30)["status"] == "succeeded"
    assert client.get(f"/v1/experiments/{running}/results").status_code == 404

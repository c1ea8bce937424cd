"""A running job's traces, live, against a real worker on the real Redis, with SQLite and with
PostgreSQL: partial results that grow and end equal to the final result, read incrementally
with step_from, and the event stream's traces with a reconnect in the middle."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest

from gradflow_client import Client
from gradflow_client.follow import End, Traces, merge
from tests.support.postgres import POSTGRES_URL, postgres_reachable, postgres_schema, schema_url
from tests.support.specs import TINY_SPEC
from tests.support.stack import REAL_REDIS_URL, redis_reachable, submit
from tests.support.waits import scaled, wait_until

pytestmark = [
    pytest.mark.timeout(scaled(300)),
    pytest.mark.skipif(not redis_reachable(REAL_REDIS_URL), reason=f"no Redis at {REAL_REDIS_URL}"),
]
# Some seconds of training, a probe every 100 steps: many stores while it runs.
GROWING = {**TINY_SPEC, "seq_len": 10, "hidden_size": 8, "steps": 3000, "probe_every": 100}
TRACE_PARTS = ("loss", "grad_norm", "hidden_grad", "weight_change")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def client(request, stack_factory) -> Iterator[httpx.Client]:
    env = {"REDIS_URL": REAL_REDIS_URL, "GRADFLOW_TRACES_INTERVAL_S": "0.2"}
    with ExitStack() as cleanup:
        if request.param == "postgresql":
            if not postgres_reachable():
                pytest.skip(f"no PostgreSQL at {POSTGRES_URL} (set GRADFLOW_TEST_POSTGRES_URL)")
            env["DATABASE_URL"] = schema_url(cleanup.enter_context(postgres_schema()))
        yield stack_factory(**env)


def test_partial_results_grow_and_end_equal_to_the_final_result(client: httpx.Client) -> None:
    job_id = submit(client, GROWING)
    merged: dict = {}
    partial_reads: list[int] = []
    next_step = 0

    def read_new() -> bool:
        """One poll for what is new; true once the job has ended and all is read."""
        nonlocal next_step
        status = client.get(f"/v1/experiments/{job_id}").json()["status"]
        answer = client.get(f"/v1/experiments/{job_id}/results", params={"step_from": next_step})
        if answer.status_code == 409:  # still queued
            return False
        page = answer.json()
        if page["last_step"] is not None:
            merge(merged, {part: page[part] for part in TRACE_PARTS})
            next_step = page["last_step"] + 1
        if page["partial"]:
            partial_reads.append(page["last_step"])
        return status not in ("queued", "running") and not page["partial"]

    wait_until(read_new, 180, f"job {job_id} read to its end")
    final = client.get(f"/v1/experiments/{job_id}/results").json()
    assert final["partial"] is False and final["last_step"] == GROWING["steps"] - 1
    # It was read while it trained, more than once, and what was read grew.
    growing = [step for step in partial_reads if step is not None]
    assert len(set(growing)) >= 2 and growing == sorted(growing)
    assert {part: merged[part] for part in TRACE_PARTS} == {p: final[p] for p in TRACE_PARTS}


def test_the_stream_carries_the_traces_across_a_reconnect(client: httpx.Client) -> None:
    job_id = submit(client, GROWING)
    merged: dict = {}
    with Client(str(client.base_url)) as follower:
        first = None
        for event in follower.follow(job_id, timeout=scaled(120)):
            if isinstance(event, Traces):
                first = event
                break
        assert first is not None and first.id is not None
        merge(merged, first.data)
        rest = list(follower.follow(job_id, last_event_id=first.id, timeout=scaled(180)))
        for event in rest:
            if isinstance(event, Traces):
                merge(merged, event.data)
        final = follower.results(job_id)
    assert isinstance(rest[-1], End) and rest[-1].status == "succeeded"
    assert {part: merged[part] for part in TRACE_PARTS} == {p: final[p] for p in TRACE_PARTS}

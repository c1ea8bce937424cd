"""Admission under concurrency: several API processes on one database (SQLite and PostgreSQL),
submitting at the same moment. Each process is an application of its own (its own engine,
connection pool and memory), as uvicorn's workers or compose's replicas are."""

from __future__ import annotations

import multiprocessing
import os
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from jobs import keys
from jobs.db import init_db, make_engine
from jobs.models import Job, Sweep
from jobs.settings import Settings
from tests.support.specs import TINY_SPEC
from tests.support.waits import scaled

# Forked, not spawned: the children need no fresh import of torch, so a test takes seconds.
FORK = multiprocessing.get_context("fork")
pytestmark = pytest.mark.processes
PROCESSES = 4
Request = tuple[str, dict[str, Any], dict[str, str]]  # path, body, headers


def _api_process(
    settings: Settings, sent: list[Request], start: Any, answers: Any, index: int
) -> None:
    with TestClient(create_app(settings)) as client:
        start.wait(timeout=scaled(30))
        replies = [client.post(path, json=body, headers=headers) for path, body, headers in sent]
    answers.put((index, [(reply.status_code, reply.json().get("id")) for reply in replies]))


def _in_processes(settings: Settings, requests: list[list[Request]]) -> list[list[tuple]]:
    """Each list of requests sent in order by an API process of its own, all processes
    starting together; the (status, id) of every reply, by process."""
    start, answers = FORK.Barrier(len(requests)), FORK.Queue()
    children = [
        FORK.Process(target=_api_process, args=(settings, sent, start, answers, index))
        for index, sent in enumerate(requests)
    ]
    for child in children:
        child.start()
    replies = dict(answers.get(timeout=scaled(60)) for _ in children)
    for child in children:
        child.join(timeout=scaled(30))
        assert child.exitcode == 0
    return [replies[index] for index in range(len(requests))]


def _setup(settings: Settings, **limits: int) -> tuple[Settings, dict[str, str]]:
    """The settings with `limits`, the tables made, and an API key's header. The engine is
    disposed before any fork: a child must never share the parent's connections."""
    settings = settings.model_copy(update=limits)
    engine = make_engine(settings)
    with init_db(engine)() as session:
        _, token = keys.create_key(session, "racer")
    engine.dispose()
    return settings, {"Authorization": f"Bearer {token}"}


def _count(settings: Settings, table: type) -> int:
    engine = make_engine(settings)
    with init_db(engine)() as session:
        count = session.scalar(select(func.count()).select_from(table))
    engine.dispose()
    return count


def _sweep(size: int) -> dict[str, Any]:
    return {"base": TINY_SPEC, "grid": {"seq_len": list(range(10, 10 + size))}}


def test_sweeps_sent_at_once_never_pass_the_active_limit(database: Settings) -> None:
    settings, key = _setup(database, max_active_jobs_per_key=8)
    replies = _in_processes(settings, [[("/v1/sweeps", _sweep(8), key)]] * PROCESSES)
    codes = sorted(status for ((status, _id),) in replies)
    assert codes == [201] + [429] * (PROCESSES - 1)
    assert _count(settings, Job) == 8 and _count(settings, Sweep) == 1


def test_experiments_sent_at_once_never_pass_the_active_limit(database: Settings) -> None:
    settings, key = _setup(database, max_active_jobs_per_key=2)
    each = [("/v1/experiments", TINY_SPEC, key)] * 2
    replies = _in_processes(settings, [each] * PROCESSES)
    codes = [status for sent in replies for status, _id in sent]
    assert codes.count(201) == 2 and codes.count(429) == 2 * PROCESSES - 2
    assert _count(settings, Job) == 2


def test_the_submission_rate_holds_across_api_processes(database: Settings) -> None:
    settings, key = _setup(database, submit_rate_per_minute=5)
    each = [("/v1/experiments", TINY_SPEC, key)] * 4
    replies = _in_processes(settings, [each, each])
    codes = [status for sent in replies for status, _id in sent]
    assert sorted(codes) == [201] * 5 + [429] * 3
    assert _count(settings, Job) == 5


def test_one_idempotency_key_sent_at_once_makes_one_experiment(database: Settings) -> None:
    # No API key: the service is open, and nothing but the admission holds the key unique.
    settings = database
    same = {"Idempotency-Key": f"nightly-{os.getpid()}"}
    replies = _in_processes(settings, [[("/v1/experiments", TINY_SPEC, same)]] * PROCESSES)
    statuses = sorted(status for ((status, _id),) in replies)
    assert statuses == [200] * (PROCESSES - 1) + [201]
    assert len({job_id for ((_status, job_id),) in replies}) == 1
    assert _count(settings, Job) == 1

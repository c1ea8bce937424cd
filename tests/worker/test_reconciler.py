"""The reconciler against a real database and the machine's real Redis, faults made by hand:
lost heartbeats, a queue deleted from Redis, a run far past its time limit, a worker restarted
under its old name."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from gradcore.spec import ExperimentSpec
from jobs import checkpoints, store
from jobs.db import init_db, make_engine
from jobs.models import Job, utcnow
from jobs.queue import enqueue, make_celery
from jobs.settings import Settings
from tests.support.specs import TINY_SPEC
from tests.support.stack import REAL_REDIS_URL, drop_queue, redis_reachable
from worker.reconciler import UNACKED_KEY, live_message_ids, reconcile, requeue_orphaned_jobs

pytestmark = pytest.mark.skipif(
    not redis_reachable(REAL_REDIS_URL),
    reason=f"no Redis at {REAL_REDIS_URL} (set GRADFLOW_TEST_REDIS_URL to use another)",
)
TINY = ExperimentSpec(**TINY_SPEC)


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    settings = Settings(
        data_dir=tmp_path,
        redis_url=REAL_REDIS_URL,
        queue=f"test-reconcile-{uuid.uuid4().hex[:12]}",
        heartbeat_timeout_s=5,
        max_attempts=2,
        reconcile_interval_s=1.0,
        job_time_limit_s=60,
    )
    yield settings
    drop_queue(REAL_REDIS_URL, settings.queue)


@pytest.fixture
def sessions(settings: Settings) -> sessionmaker[Session]:
    return init_db(make_engine(settings))


@pytest.fixture
def celery(settings: Settings) -> Celery:
    return make_celery(settings)


def _queued(sessions: sessionmaker[Session], celery: Celery, settings: Settings) -> str:
    with sessions() as session:
        job_id = store.create_job(session, TINY).id
    enqueue(celery, settings.queue, job_id)
    return job_id


def _age(sessions: sessionmaker[Session], job_id: str, **seconds_ago: float) -> None:
    """Move the job's timestamps into the past, as if time had passed without a heartbeat."""
    values = {name: utcnow() - timedelta(seconds=ago) for name, ago in seconds_ago.items()}
    with sessions() as session:
        store.update_jobs(session, Job.id == job_id, **values)


def _claim(sessions: sessionmaker[Session], celery: Celery, job_id: str) -> int:
    """What a worker does before it is killed: take the message, then claim the row."""
    with celery.connection_for_write() as connection:
        connection.default_channel.client.delete(celery.conf.task_default_queue)
    with sessions() as session:
        return store.start_job(session, job_id, "killed@test#1")


def _pass(settings: Settings, sessions: sessionmaker[Session], celery: Celery):
    """A reconciler pass as if the last one were an interval ago."""
    redis.Redis.from_url(REAL_REDIS_URL).delete(f"gradflow:reconcile:{settings.queue}")
    return reconcile(settings, sessions, celery)


def _live(celery: Celery, settings: Settings) -> set[str]:
    with celery.connection_for_write() as connection:
        return live_message_ids(connection.default_channel.client, settings.queue)


def _job(sessions: sessionmaker[Session], job_id: str) -> Job:
    with sessions() as session:
        return store.get_job(session, job_id)


def test_a_silent_running_job_is_requeued_then_failed_after_max_attempts(
    settings, sessions, celery
) -> None:
    job_id = _queued(sessions, celery, settings)
    assert _claim(sessions, celery, job_id) == 1
    assert _pass(settings, sessions, celery).requeued == []  # its heartbeat is fresh
    _age(sessions, job_id, heartbeat_at=10)
    assert _pass(settings, sessions, celery).requeued == [job_id]
    job = _job(sessions, job_id)
    assert job.status == "queued" and job.attempts == 1 and job.worker is None
    assert _live(celery, settings) == {job_id}

    assert _claim(sessions, celery, job_id) == 2
    _age(sessions, job_id, heartbeat_at=10)
    assert _pass(settings, sessions, celery).failed == [job_id]
    job = _job(sessions, job_id)
    assert job.status == "failed" and "2 attempts" in job.error and "GRADFLOW_MAX" in job.error
    assert _live(celery, settings) == set()


def test_a_graceful_hand_back_does_not_count_against_max_attempts(
    settings, sessions, celery
) -> None:
    job_id = _queued(sessions, celery, settings)
    # Two workers shut down gracefully while running it: each puts it back, as worker/job.py
    # does, and its message is delivered again.
    for attempt in (1, 2):
        assert _claim(sessions, celery, job_id) == attempt
        with sessions() as session:
            assert store.requeue_job(session, job_id)
    # The third run's worker is lost: its first lost run of max_attempts = 2, re-queued.
    assert _claim(sessions, celery, job_id) == 3
    _age(sessions, job_id, heartbeat_at=10)
    assert _pass(settings, sessions, celery).requeued == [job_id]
    assert _job(sessions, job_id).attempts_lost == 1
    assert _claim(sessions, celery, job_id) == 4
    _age(sessions, job_id, heartbeat_at=10)
    assert _pass(settings, sessions, celery).failed == [job_id]
    assert "lost 2 attempts" in _job(sessions, job_id).error


def test_a_worker_touching_its_job_keeps_it(settings, sessions, celery) -> None:
    job_id = _queued(sessions, celery, settings)
    _claim(sessions, celery, job_id)
    _age(sessions, job_id, heartbeat_at=10)
    with sessions() as session:
        store.touch_jobs(session, "killed@test#1")
    assert _pass(settings, sessions, celery).requeued == []
    assert _job(sessions, job_id).status == "running"


def test_queued_jobs_whose_messages_were_lost_are_sent_again(settings, sessions, celery) -> None:
    kept, lost = (_queued(sessions, celery, settings) for _ in range(2))
    fresh = _queued(sessions, celery, settings)
    for job_id in (kept, lost):
        _age(sessions, job_id, created_at=5)
    client = redis.Redis.from_url(REAL_REDIS_URL)
    # Lose one message: take both out of the list, put one back.
    messages = client.lrange(settings.queue, 0, -1)
    client.delete(settings.queue)
    client.lpush(settings.queue, *[m for m in messages if kept.encode() in m])
    assert _live(celery, settings) == {kept}
    # The fresh job's message may still be on its way from the API: it is left alone.

    assert _pass(settings, sessions, celery).resent == [lost]
    assert _live(celery, settings) == {kept, lost}
    assert fresh not in _live(celery, settings)
    assert _pass(settings, sessions, celery).resent == []
    client.close()


def test_a_job_far_past_its_time_limit_fails(settings, sessions, celery) -> None:
    job_id = _queued(sessions, celery, settings)
    _claim(sessions, celery, job_id)
    # Its worker still beats (stuck inside one long step), but it started long ago.
    _age(sessions, job_id, started_at=settings.job_time_limit_s + 10)
    assert _pass(settings, sessions, celery).overdue == 1
    job = _job(sessions, job_id)
    assert job.status == "failed" and job.error.startswith("time limit")
    # Its worker sees that at its next check and stops; what it stores afterwards is refused.
    with sessions() as session:
        assert store.stop_reason(session, job_id, attempt=1) == "gone"


def test_checkpoints_of_ended_jobs_are_removed(settings, sessions, celery) -> None:
    running, ended = (_queued(sessions, celery, settings) for _ in range(2))
    for job_id in (running, ended):
        _claim(sessions, celery, job_id)
        with sessions() as session:
            assert checkpoints.save(session, job_id, 1, 5, b"state")
    with sessions() as session:
        store.fail_job(session, ended, "failed elsewhere")
    assert _pass(settings, sessions, celery).checkpoints_dropped == 1
    with sessions() as session:
        assert checkpoints.load(session, running).data == b"state"
        assert checkpoints.load(session, ended) is None


def test_only_one_reconciler_acts_per_interval(settings, sessions, celery) -> None:
    assert _pass(settings, sessions, celery) is not None
    assert reconcile(settings, sessions, celery) is None


def _deliver(celery: Celery, settings: Settings, job_id: str, worker: str, sessions) -> int:
    """What a worker does before it is killed: kombu moves the message into its unacked hash
    (entries are [message, exchange, routing key]), then the worker claims the row."""
    client = redis.Redis.from_url(REAL_REDIS_URL)
    raw = client.rpop(settings.queue)
    assert json.loads(raw)["headers"]["id"] == job_id
    tag = uuid.uuid4().hex
    client.hset(UNACKED_KEY, tag, json.dumps([json.loads(raw), "", settings.queue]))
    client.zadd(f"{UNACKED_KEY}_index", {tag: time.time()})
    client.close()
    with sessions() as session:
        return store.start_job(session, job_id, worker)


def _unacked_ids(settings: Settings) -> set[str]:
    entries = redis.Redis.from_url(REAL_REDIS_URL).hvals(UNACKED_KEY)
    return {
        m["headers"]["id"] for m, _, queue in map(json.loads, entries) if queue == settings.queue
    }


def test_a_restarted_worker_requeues_its_predecessors_job_at_once(
    settings, sessions, celery
) -> None:
    # "_" would match any one character in an unescaped LIKE: "gradflow-1@aXb" is another host.
    hostname, new = "gradflow-1@a_b", "gradflow-1@a_b#new"
    orphan, elsewhere, own = (_queued(sessions, celery, settings) for _ in range(3))
    assert _deliver(celery, settings, orphan, f"{hostname}#old", sessions) == 1
    assert _deliver(celery, settings, elsewhere, "gradflow-1@aXb#old", sessions) == 1
    assert _deliver(celery, settings, own, new, sessions) == 1

    # Heartbeats are fresh: the reconciler would wait for the timeout, the new worker does not.
    done = requeue_orphaned_jobs(settings, sessions, celery, hostname, new)
    assert done.requeued == [orphan] and done.failed == []
    job = _job(sessions, orphan)
    assert job.status == "queued" and job.attempts == 1 and job.worker is None
    assert _job(sessions, elsewhere).status == _job(sessions, own).status == "running"
    # One message for the orphan, waiting in the queue; the dead process's delivery is gone.
    assert _unacked_ids(settings) == {elsewhere, own}
    assert _live(celery, settings) == {orphan, elsewhere, own}
    assert requeue_orphaned_jobs(settings, sessions, celery, hostname, new).requeued == []
    # Had a duplicate message survived, the first claim wins and the other is skipped.
    with sessions() as session:
        assert store.start_job(session, orphan, new) == 2
        assert store.start_job(session, orphan, "gradflow-2@c#1") is None


def test_a_restarted_worker_fails_its_predecessors_job_after_max_attempts(
    settings, sessions, celery
) -> None:
    job_id = _queued(sessions, celery, settings)
    _claim(sessions, celery, job_id)
    _age(sessions, job_id, heartbeat_at=10)
    assert _pass(settings, sessions, celery).requeued == [job_id]
    assert _deliver(celery, settings, job_id, "killed@test#2", sessions) == 2

    done = requeue_orphaned_jobs(settings, sessions, celery, "killed@test", "killed@test#3")
    assert done.failed == [job_id] and done.requeued == []
    job = _job(sessions, job_id)
    assert job.status == "failed" and "killed@test#2 died" in job.error
    assert "2 attempts" in job.error and "GRADFLOW_MAX_ATTEMPTS" in job.error
    assert _live(celery, settings) == set()

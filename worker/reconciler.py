"""Make the broker agree with the database, which is the truth about jobs.

Every worker runs `reconcile` periodically (a Redis lock lets one act per interval), so it runs
wherever jobs run: under `cli serve` and in compose alike. One pass:

- fails running jobs far past the time limit (their worker is stuck inside one step);
- re-queues running jobs whose worker went silent (killed, frozen, its machine gone), or fails
  them once they have used up `max_attempts`;
- removes the checkpoints of jobs that ended elsewhere than in their worker (a cancel while
  queued, a failure declared here);
- sends a new message for queued jobs that have none in Redis (Redis restarted without its
  data, or the API died between storing a job and sending it).

A duplicate message is harmless: the first worker to claim the job wins, the other skips it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta

import redis
from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from api import recovery
from api.models import utcnow
from api.settings import Settings
from worker.celery_app import enqueue

log = logging.getLogger(__name__)
# kombu's Redis transport keeps delivered, not yet acknowledged messages in this hash.
UNACKED_KEY = "unacked"


@dataclass
class Pass:
    """What one pass did, by job id."""

    overdue: int = 0
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    resent: list[str] = field(default_factory=list)
    checkpoints_dropped: int = 0  # of jobs that ended without their worker's own clean-up


def live_message_ids(client: redis.Redis, queue: str) -> set[str]:
    """Job ids with a message waiting in `queue` or delivered to a worker and not yet acked
    (the task id is the job id, see `enqueue`)."""
    waiting = [json.loads(raw) for raw in client.lrange(queue, 0, -1)]
    # Entries are [message, exchange, routing key]; the hash is shared by every queue.
    unacked = (json.loads(raw) for raw in client.hvals(UNACKED_KEY))
    delivered = [message for message, _, routing_key in unacked if routing_key == queue]
    return {message["headers"]["id"] for message in waiting + delivered}


def reconcile(settings: Settings, sessions: sessionmaker[Session], celery: Celery) -> Pass | None:
    """One pass, or None when another worker holds this interval's lock."""
    with celery.connection_for_write() as connection:
        client: redis.Redis = connection.default_channel.client
        lock = f"gradflow:reconcile:{settings.queue}"
        if not client.set(lock, "1", nx=True, px=int(settings.reconcile_interval_s * 900)):
            return None
        done = Pass()
        with sessions() as session:
            _fail_overdue(session, settings, done)
            done.checkpoints_dropped = recovery.drop_ended_checkpoints(session)
            _recover_lost(session, settings, celery, done)
            _resend_queued(session, settings, celery, client, done)
    if done.overdue or done.requeued or done.failed or done.resent:
        log.warning("reconciler: %s", done)
    return done


def _fail_overdue(session: Session, settings: Settings, done: Pass) -> None:
    # Past the limit plus the heartbeat timeout: the worker's own check had its chance.
    grace = settings.job_time_limit_s + settings.heartbeat_timeout_s
    done.overdue = recovery.fail_overdue_jobs(
        session,
        utcnow() - timedelta(seconds=grace),
        f"time limit: still running {grace:.0f} s after it started, past "
        f"GRADFLOW_JOB_TIME_LIMIT_S = {settings.job_time_limit_s:g} s, and its worker did not "
        "stop it (the worker is frozen or gone); the partial result is kept",
    )


def _recover_lost(session: Session, settings: Settings, celery: Celery, done: Pass) -> None:
    silent_since = utcnow() - timedelta(seconds=settings.heartbeat_timeout_s)
    for job_id, attempts in recovery.lost_jobs(session, silent_since):
        if attempts >= settings.max_attempts:
            error = (
                f"its worker stopped responding (no heartbeat for "
                f"{settings.heartbeat_timeout_s:g} s) and the job has had {attempts} attempts, "
                "the limit (GRADFLOW_MAX_ATTEMPTS); a spec that kills its worker (out of "
                "memory, say) needs to be made smaller"
            )
            if recovery.recover_lost_job(session, job_id, attempts, silent_since, error):
                done.failed.append(job_id)
        elif recovery.recover_lost_job(session, job_id, attempts, silent_since, None):
            enqueue(celery, settings.queue, job_id)
            done.requeued.append(job_id)


def _resend_queued(
    session: Session, settings: Settings, celery: Celery, client: redis.Redis, done: Pass
) -> None:
    # Jobs younger than one interval may be between being stored and being sent.
    created_before = utcnow() - timedelta(seconds=settings.reconcile_interval_s)
    queued = recovery.queued_job_ids(session, created_before)
    if not queued:
        return
    live = live_message_ids(client, settings.queue)
    for job_id in queued:
        if job_id not in live:
            enqueue(celery, settings.queue, job_id)
            done.resent.append(job_id)

"""Make the broker agree with the database, which is the truth about jobs.

Every worker runs `reconcile` periodically (a Redis lock lets one act per interval), so it runs
wherever jobs run: under `cli serve` and in compose alike. One pass:

- fails running jobs far past the time limit (their worker is stuck inside one step);
- re-queues running jobs whose worker went silent (killed, frozen, its machine gone), or fails
  them once they have lost `max_attempts` runs that way (a graceful hand-back is not lost);
- removes the checkpoints of jobs that ended elsewhere than in their worker (a cancel while
  queued, a failure declared here);
- sends a new message for queued jobs that have none in Redis (Redis restarted without its
  data, or the API died between storing a job and sending it).

A starting worker also re-queues the jobs its own killed predecessor was running
(`requeue_orphaned_jobs`), without waiting for the heartbeat timeout.

A duplicate message is harmless: the first worker to claim the job wins, the other skips it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

import redis
from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from jobs import recovery
from jobs.models import utcnow
from jobs.queue import enqueue
from jobs.settings import Settings

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


def drop_unacked(client: redis.Redis, queue: str, job_id: str | None = None) -> None:
    """Forget the delivered, unacknowledged messages of `queue` (of `job_id` only, if given),
    as kombu does at an acknowledgement: the hash entry and its index entry."""
    for tag, raw in client.hscan_iter(UNACKED_KEY):
        message, _, routing_key = json.loads(raw)
        if routing_key == queue and job_id in (None, message["headers"]["id"]):
            client.hdel(UNACKED_KEY, tag)
            client.zrem(f"{UNACKED_KEY}_index", tag)


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
    why = f"its worker stopped responding (no heartbeat for {settings.heartbeat_timeout_s:g} s)"
    for job_id, attempts, lost in recovery.lost_jobs(session, silent_since):
        recover = partial(recovery.recover_lost_job, session, job_id, attempts, silent_since)
        _requeue_or_fail(settings, celery, done, job_id, lost + 1, why, recover)


def _requeue_or_fail(
    settings: Settings,
    celery: Celery,
    done: Pass,
    job_id: str,
    lost: int,
    why: str,
    recover: Callable[[str | None], bool],
) -> None:
    """Re-queue a job whose worker is gone, or fail it once it has lost `lost` runs (this one
    included), the limit; `recover(error)` makes the conditional change."""
    if lost >= settings.max_attempts:
        error = (
            f"{why} and the job has lost {lost} attempts that way, the limit "
            "(GRADFLOW_MAX_ATTEMPTS); a spec that kills its worker (out of memory, say) needs "
            "to be made smaller"
        )
        if recover(error):
            done.failed.append(job_id)
    elif recover(None):
        enqueue(celery, settings.queue, job_id)
        done.requeued.append(job_id)


def requeue_orphaned_jobs(
    settings: Settings,
    sessions: sessionmaker[Session],
    celery: Celery,
    hostname: str,
    claimant: str,
) -> Pass:
    """At a worker's start: re-queue at once (not after the heartbeat timeout) the jobs that an
    earlier process under the same Celery `hostname` was running when it died, as `cli serve`
    or a container's restart policy brings a killed worker back under its old name."""
    done = Pass()
    with celery.connection_for_write() as connection, sessions() as session:
        client: redis.Redis = connection.default_channel.client
        for job_id, attempts, lost, worker in recovery.orphaned_jobs(session, hostname, claimant):
            # The dead process's delivered message would count as live for `_resend_queued`
            # and come back from kombu after its visibility timeout (an hour).
            drop_unacked(client, settings.queue, job_id)
            why = f"its worker {worker} died"
            recover = partial(recovery.recover_orphaned_job, session, job_id, attempts, worker)
            _requeue_or_fail(settings, celery, done, job_id, lost + 1, why, recover)
    if done.requeued or done.failed:
        log.warning(
            "%s restarted; jobs of its previous process re-queued: %s, failed: %s",
            *(hostname, done.requeued, done.failed),
        )
    return done


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

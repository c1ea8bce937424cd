"""The Celery task and the worker process's lifetime: database, data sets, heartbeat.

Start a worker with `celery -A worker.celery_app worker`; the pool is solo (set in the app): the
worker takes one job at a time and trains it in a child process of its own (worker/supervisor.py),
so a run that crashes or is killed never takes the worker with it.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any

from celery import signals
from celery.exceptions import Reject
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from jobs import store
from jobs.db import init_db, make_engine
from jobs.queue import RUN_EXPERIMENT
from jobs.settings import Settings
from worker.celery_app import app
from worker.job import Ending, run_job
from worker.reconciler import reconcile, requeue_orphaned_jobs
from worker.supervisor import prepare_run_process

log = logging.getLogger(__name__)
HEARTBEAT_INTERVAL_S = 10.0
# Names this process on the jobs it claims. A restarted worker keeps its Celery hostname (and,
# in a container, its pid), so only this token tells its jobs from its predecessor's.
INSTANCE = uuid.uuid4().hex[:8]

# Set when Celery begins a warm shutdown: the running job stops and goes back to the queue.
shutdown = threading.Event()


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    sessions: sessionmaker[Session]


@cache
def runtime() -> Runtime:
    settings = Settings()
    return Runtime(settings, init_db(make_engine(settings)))


@app.task(name=RUN_EXPERIMENT, bind=True)
def run_experiment(self: Any, job_id: str) -> None:
    rt = runtime()
    worker = claimant(self.request.hostname)
    ending = run_job(job_id, worker, rt.settings, rt.sessions, shutdown)
    if ending is Ending.REQUEUED:
        raise Reject("worker shutting down", requeue=True)


def claimant(hostname: str) -> str:
    return f"{hostname}#{INSTANCE}"


def heartbeat_interval(settings: Settings) -> float:
    # Several beats per timeout, so one slow database write never makes a job look lost.
    return min(HEARTBEAT_INTERVAL_S, settings.heartbeat_timeout_s / 4)


def _beat_forever(name: str) -> None:
    while not shutdown.wait(heartbeat_interval(runtime().settings)):
        _beat(name)


def _beat(name: str) -> None:
    try:
        with runtime().sessions() as session:
            store.beat(session, name)
            store.touch_jobs(session, claimant(name))
    except SQLAlchemyError:
        log.exception("heartbeat of %s not recorded", name)


def _reconcile_forever() -> None:
    rt = runtime()
    while True:
        try:
            reconcile(rt.settings, rt.sessions, app)
        except Exception:  # the broker or the database may be down for a while; try again
            log.exception("reconciler pass failed")
        if shutdown.wait(rt.settings.reconcile_interval_s):
            return


@signals.worker_ready.connect
def _start_heartbeat(sender: Any, **_: Any) -> None:
    _beat(sender.hostname)  # loads the runtime before the first job arrives
    prepare_run_process()  # and the first job's process, torch imported, while it waits
    _requeue_orphaned_jobs(sender.hostname)
    threading.Thread(
        target=_beat_forever, args=(sender.hostname,), name="heartbeat", daemon=True
    ).start()
    threading.Thread(target=_reconcile_forever, name="reconciler", daemon=True).start()


def _requeue_orphaned_jobs(hostname: str) -> None:
    # Runs before the consumer's loop takes its first message, so the job of a predecessor
    # killed mid-run is queued again in time for this worker to take it.
    rt = runtime()
    try:
        requeue_orphaned_jobs(rt.settings, rt.sessions, app, hostname, claimant(hostname))
    except Exception:  # the broker or database may be down: the reconciler re-queues them later
        log.exception("jobs of an earlier %s not re-queued at start", hostname)


@signals.worker_shutting_down.connect
def _stop_running_job(**_: Any) -> None:
    shutdown.set()

"""The job queue: Celery's configuration and the message that starts a job. No torch and no app
built at import time, so the API sends jobs without importing the worker.

Messages carry a job id and nothing else; the database holds the spec and the state.
"""

from __future__ import annotations

from celery import Celery

from jobs.settings import Settings

RUN_EXPERIMENT = "gradflow.run_experiment"


def make_celery(settings: Settings, include: tuple[str, ...] = ()) -> Celery:
    """A Celery app on the configured broker; `include` names the modules that define tasks
    (the worker's), empty for an app that only sends."""
    app = Celery("gradflow", broker=settings.broker_url, include=list(include))
    app.conf.update(
        # JSON only: a pickled message from anyone who reaches the broker would run code.
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        task_default_queue=settings.queue,
        # A job is acknowledged after it ran, so a worker that dies mid-job leaves it queued.
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        # One job at a time per process; torch must not fork after CUDA is initialised.
        worker_pool="solo",
        worker_concurrency=1,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=5,
        # A submit must not hang when the broker is down: fail fast and tell the client.
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5},
    )
    return app


def enqueue(celery: Celery, queue: str, job_id: str) -> None:
    """Send a job's message. The task id is the job id, so the reconciler can tell which jobs
    have a message in Redis."""
    celery.send_task(RUN_EXPERIMENT, args=[job_id], queue=queue, task_id=job_id)

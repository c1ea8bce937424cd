"""GET /metrics: the service's state in Prometheus's text format, for operators' dashboards.

Everything is read from the database and the broker at scrape time, so every API process
reports the same numbers and nothing is lost when one restarts.
"""

from __future__ import annotations

from collections.abc import Iterator

from celery import Celery
from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.deps import CeleryDep, SessionDep, SettingsDep
from jobs import store
from jobs.models import Job, Sweep
from jobs.statuses import STATUSES

router = APIRouter(tags=["service"])
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Run times span a second (tiny tests) to hours (long sequences on MNIST).
DURATION_BUCKETS_S: tuple[float, ...] = (1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600)


def _metric(name: str, kind: str, help_text: str, samples: list[str]) -> Iterator[str]:
    yield f"# HELP {name} {help_text}"
    yield f"# TYPE {name} {kind}"
    yield from samples


def _jobs_by_status(session: Session) -> list[str]:
    counts = dict(session.execute(select(Job.status, func.count()).group_by(Job.status)).all())
    return [f'gradflow_jobs{{status="{status}"}} {counts.get(status, 0)}' for status in STATUSES]


def _durations(session: Session) -> list[str]:
    rows = session.execute(
        select(Job.started_at, Job.finished_at).where(
            Job.started_at.is_not(None), Job.finished_at.is_not(None)
        )
    )
    seconds = [(finished - started).total_seconds() for started, finished in rows]
    name = "gradflow_job_duration_seconds"
    samples = [
        f'{name}_bucket{{le="{bound:g}"}} {sum(s <= bound for s in seconds)}'
        for bound in DURATION_BUCKETS_S
    ]
    samples.append(f'{name}_bucket{{le="+Inf"}} {len(seconds)}')
    samples.append(f"{name}_sum {sum(seconds):.3f}")
    samples.append(f"{name}_count {len(seconds)}")
    return samples


def _queue_depth(celery: Celery, queue: str) -> int | None:
    try:
        with celery.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
            return int(connection.default_channel.client.llen(queue))
    except Exception:  # kombu raises transport-specific errors; the gauge is then absent
        return None


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(session: SessionDep, celery: CeleryDep, settings: SettingsDep) -> PlainTextResponse:
    depth = _queue_depth(celery, settings.queue)
    workers = len(store.workers_seen(session, settings.worker_seen_s))
    sweeps = session.scalar(select(func.count()).select_from(Sweep)) or 0
    lines = [
        *_metric(
            "gradflow_jobs", "gauge", "Jobs in the database by status.", _jobs_by_status(session)
        ),
        *_metric(
            "gradflow_job_duration_seconds",
            "histogram",
            "Run time (start to end) of the jobs that ran and ended.",
            _durations(session),
        ),
        *_metric(
            "gradflow_broker_up",
            "gauge",
            "1 when the broker answered.",
            [f"gradflow_broker_up {int(depth is not None)}"],
        ),
        *_metric(
            "gradflow_queue_depth",
            "gauge",
            "Messages waiting in the broker queue (absent while the broker is down).",
            [f'gradflow_queue_depth{{queue="{settings.queue}"}} {depth}']
            if depth is not None
            else [],
        ),
        *_metric(
            "gradflow_workers",
            "gauge",
            "Workers with a recent heartbeat.",
            [f"gradflow_workers {workers}"],
        ),
        *_metric(
            "gradflow_sweeps", "gauge", "Sweeps in the database.", [f"gradflow_sweeps {sweeps}"]
        ),
    ]
    return PlainTextResponse("\n".join(lines) + "\n", media_type=CONTENT_TYPE)

"""The service's state as Prometheus metric families, read from the database and the broker at
each scrape.

Jobs, their durations, sweeps and workers are rows in the database, so any API process reports
the same numbers and nothing is lost when one restarts. The run-time histogram is built here
from the finished jobs' rows rather than observed by a prometheus_client Histogram: the runs
end in worker processes, on other machines too, which no API process sees.
"""

from __future__ import annotations

from collections.abc import Iterator

from celery import Celery
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jobs import store
from jobs.models import Job, Sweep
from jobs.settings import Settings
from jobs.statuses import STATUSES

# Run times span a second (tiny tests) to hours (long sequences on MNIST).
DURATION_BUCKETS_S: tuple[float, ...] = (1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600)


class ServiceState(Collector):
    def __init__(self, session: Session, celery: Celery, settings: Settings) -> None:
        self.session, self.celery, self.settings = session, celery, settings

    def collect(self) -> Iterator[Metric]:
        session = self.session
        counts = dict(session.execute(select(Job.status, func.count()).group_by(Job.status)).all())
        jobs = GaugeMetricFamily(
            "gradflow_jobs", "Jobs in the database by status.", labels=["status"]
        )
        for status in STATUSES:
            jobs.add_metric([status], counts.get(status, 0))
        yield jobs
        yield self._durations()
        depth = _queue_depth(self.celery, self.settings.queue)
        yield GaugeMetricFamily(
            "gradflow_broker_up", "1 when the broker answered.", value=int(depth is not None)
        )
        queue = GaugeMetricFamily(
            "gradflow_queue_depth",
            "Messages waiting in the broker queue (absent while the broker is down).",
            labels=["queue"],
        )
        if depth is not None:
            queue.add_metric([self.settings.queue], depth)
        yield queue
        workers = store.workers_seen(session, self.settings.worker_seen_s)
        yield GaugeMetricFamily(
            "gradflow_workers", "Workers with a recent heartbeat.", value=len(workers)
        )
        sweeps = session.scalar(select(func.count()).select_from(Sweep)) or 0
        yield GaugeMetricFamily("gradflow_sweeps", "Sweeps in the database.", value=sweeps)

    def _durations(self) -> HistogramMetricFamily:
        rows = self.session.execute(
            select(Job.started_at, Job.finished_at).where(
                Job.started_at.is_not(None), Job.finished_at.is_not(None)
            )
        )
        seconds = [(finished - started).total_seconds() for started, finished in rows]
        buckets = [
            (floatToGoString(bound), sum(s <= bound for s in seconds))
            for bound in DURATION_BUCKETS_S
        ]
        return HistogramMetricFamily(
            "gradflow_job_duration_seconds",
            "Run time (start to end) of the jobs that ran and ended.",
            buckets=[*buckets, ("+Inf", len(seconds))],
            sum_value=sum(seconds),
        )


def _queue_depth(celery: Celery, queue: str) -> int | None:
    try:
        with celery.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
            return int(connection.default_channel.client.llen(queue))
    except Exception:  # kombu raises transport-specific errors; the gauge is then absent
        return None

"""Metrics an API process counts itself, as opposed to those read from the database.

With PROMETHEUS_MULTIPROC_DIR set (before the process starts), prometheus_client keeps these
values in files there, one per process id, and GET /metrics sums every process's files, so the
API processes of one machine (uvicorn --workers N) report one total. Without it each process
reports its own.
"""

from __future__ import annotations

import os

from prometheus_client import Counter, Gauge
from prometheus_client.multiprocess import mark_process_dead

# registry=None: api/routes/metrics.py adds them to the registry it builds for each scrape.
EVENT_STREAMS_OPEN = Gauge(
    "gradflow_event_streams_open",
    "Event streams open now (summed over the API processes alive).",
    multiprocess_mode="livesum",
    registry=None,
)
EVENT_STREAMS_REFUSED = Counter(
    "gradflow_event_streams_refused",
    "Event streams refused because their API key held GRADFLOW_MAX_STREAMS_PER_KEY already.",
    registry=None,
)
PROCESS_METRICS = (EVENT_STREAMS_OPEN, EVENT_STREAMS_REFUSED)


def process_exits() -> None:
    """Drops this process's live gauges from the shared files, so the sums count only the
    processes still serving (a killed one's stay until the directory is emptied at start)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        mark_process_dead(os.getpid())

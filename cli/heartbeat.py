"""`python -m cli worker-alive NAME`: exit 0 when worker NAME has beaten recently.

A container healthcheck for workers: a solo-pool worker busy training does not answer broker
pings, but its heartbeat thread keeps writing to the database.
"""

from __future__ import annotations

from jobs import store
from jobs.db import init_db, make_engine
from jobs.settings import Settings


def worker_alive(settings: Settings, name: str) -> int:
    engine = make_engine(settings)
    try:
        with init_db(engine)() as session:
            seen = {worker.name for worker in store.workers_seen(session, settings.worker_seen_s)}
    finally:
        engine.dispose()
    if name in seen:
        return 0
    print(f"worker {name} has not been seen for {settings.worker_seen_s:.0f} s")
    return 1

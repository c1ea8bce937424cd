"""The cap on event streams one API key holds open on this API process.

A stream costs a connection and a little of every poll, however cheap the hub makes the poll,
so one key (or a script that never closes what it opens) must not take them all. Counted per
process: the streams of a process are what load it.
"""

from __future__ import annotations

import threading

from fastapi import HTTPException

from api.process_metrics import EVENT_STREAMS_OPEN, EVENT_STREAMS_REFUSED


class StreamSlots:
    def __init__(self, per_key: int) -> None:
        self.per_key = per_key
        self._open: dict[str | None, int] = {}  # owner (None while no key exists) -> streams
        self._lock = threading.Lock()  # routes run in worker threads

    def take(self, owner: str | None) -> None:
        """Counts one more stream of `owner`, or raises the 429 that says why not."""
        with self._lock:
            held = self._open.get(owner, 0)
            if held < self.per_key:
                self._open[owner] = held + 1
                EVENT_STREAMS_OPEN.inc()
                return
        EVENT_STREAMS_REFUSED.inc()
        raise HTTPException(
            429,
            f"too many open event streams: this API key holds {held} on this server, the most "
            "GRADFLOW_MAX_STREAMS_PER_KEY allows. Close streams you no longer read (each open "
            "dashboard page and each client follow or wait holds one), or follow a sweep "
            "through GET /v1/sweeps/{id}/events instead of one stream per experiment.",
        )

    def give_back(self, owner: str | None) -> None:
        with self._lock:
            self._open[owner] -= 1
            if not self._open[owner]:
                del self._open[owner]
            EVENT_STREAMS_OPEN.dec()

"""Server-Sent Events for a job or a sweep, derived from the state stored in the database.

A stream re-reads the state every `events_poll_interval_s` and sends what changed: `status`
events, `progress` events, and a final `end` event, after which it closes. Each batch of events
read from one state carries an id on its last event only, so a client's Last-Event-ID always
names a batch it received whole. The ids are the job row's `version` (a sweep: the sum over its
experiments), which every stored change increments, so they increase across reconnects and API
processes alike, and a reconnect resumes after the state the client last saw.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool

RETRY_MS = 1000
KEEPALIVE_S = 15.0


@dataclass
class Snapshot:
    """What a stream sends for one read of the state."""

    version: int
    statuses: dict[str, str] = field(default_factory=dict)  # id -> status
    progress: dict[str, Any] | None = None
    end: dict[str, Any] | None = None


def _frame(event: str, data: dict[str, Any], event_id: int | None) -> str:
    lines = f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n"
    return (f"id: {event_id}\n" if event_id is not None else "") + lines + "\n"


def parse_last_event_id(header: str | None) -> int | None:
    try:
        return int(header) if header is not None else None
    except ValueError:
        return None  # not one of ours: start from the current state


def already_ended(snapshot: Snapshot, last_id: int | None) -> bool:
    """The client saw the end event: a reconnect gets 204, which stops an EventSource."""
    return snapshot.end is not None and last_id is not None and snapshot.version <= last_id


async def stream(
    read: Callable[[], Snapshot], last_id: int | None, poll_s: float
) -> AsyncIterator[str]:
    """Events from successive reads until the end event. `read` runs in a thread (it queries
    the database); a client that goes away cancels this generator."""
    yield f"retry: {RETRY_MS}\n\n"
    sent_statuses: dict[str, str] = {}
    quiet_since = time.monotonic()
    while True:
        snapshot = await run_in_threadpool(read)
        # A sweep's version can fall when a member is deleted; ids must still increase.
        version = snapshot.version if last_id is None else max(snapshot.version, last_id + 1)
        if last_id is None or snapshot.version > last_id or snapshot.end is not None:
            events = [
                ("status", {"id": ident, "status": status})
                for ident, status in snapshot.statuses.items()
                if sent_statuses.get(ident) != status
            ]
            sent_statuses.update(snapshot.statuses)
            if snapshot.progress is not None:
                events.append(("progress", snapshot.progress))
            if snapshot.end is not None:
                events.append(("end", snapshot.end))
            for index, (name, data) in enumerate(events):
                yield _frame(name, data, version if index == len(events) - 1 else None)
            if events:
                last_id, quiet_since = version, time.monotonic()
        if snapshot.end is not None:
            return
        if time.monotonic() - quiet_since > KEEPALIVE_S:
            yield ": keep-alive\n\n"  # proxies drop connections that stay silent
            quiet_since = time.monotonic()
        await asyncio.sleep(poll_s)

"""Server-Sent Events for a job or a sweep, derived from the state stored in the database.

A stream re-reads the state every `events_poll_interval_s` and sends what changed: for a job,
`traces` events with the trace data stored since the last one it sent, then `status` and
`progress` events, and a final `end` event, after which it closes.

Event ids say what the client has received. For a sweep it is the sum of its experiments'
row `version`s; for a job, "version.step.probes": the job row's `version` (every stored change
increments it), the first training step whose traces were not sent yet, and how many probes
were sent. A batch of events read from one state carries the full id on its last event only,
and each `traces` event carries the id of the traces up to it with the version before the
batch, so a client's Last-Event-ID resumes the traces exactly (no gap, no repeat) and the
state after the last batch it received whole. Ids increase across reconnects and API
processes alike; a plain integer (an earlier version's job id) counts as no traces sent.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from starlette.concurrency import run_in_threadpool

from jobs.trace_read import Stored

RETRY_MS = 1000
KEEPALIVE_S = 15.0


@dataclass(frozen=True)
class Cursor:
    """What a client has received: the state's version, the first training step whose traces
    it has not got, and how many probes it has got."""

    version: int
    step: int = 0
    probes: int = 0


@dataclass
class Snapshot:
    """What a stream sends for one read of the state."""

    version: int
    statuses: dict[str, str] = field(default_factory=dict)  # id -> status
    progress: dict[str, Any] | None = None
    end: dict[str, Any] | None = None
    traces: Stored | None = None  # a job's: what is stored of its traces at this read


# Given what was sent and a snapshot with traces not sent yet: the next bounded piece of them
# and the cursor after it.
ReadTraces = Callable[[Cursor, Stored], tuple[dict[str, Any], Cursor]]


def _frame(event: str, data: dict[str, Any], event_id: str | None) -> str:
    lines = f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n"
    return (f"id: {event_id}\n" if event_id is not None else "") + lines + "\n"


def parse_last_event_id(header: str | None) -> Cursor | None:
    try:
        numbers = [int(part) for part in header.split(".")] if header is not None else []
    except ValueError:
        return None  # not one of ours: start from the current state
    return Cursor(*numbers) if len(numbers) in (1, 3) else None


def already_ended(snapshot: Snapshot, last: Cursor | None) -> bool:
    """The client saw the end event: a reconnect gets 204, which stops an EventSource."""
    return snapshot.end is not None and last is not None and snapshot.version <= last.version


def traces_pending(stored: Stored | None, cursor: Cursor) -> bool:
    if stored is None or stored.meta is None:
        return False
    new_steps = stored.last_step is not None and stored.last_step >= cursor.step
    return new_steps or stored.probes > cursor.probes


async def stream(
    read: Callable[[], Snapshot],
    last: Cursor | None,
    poll_s: float,
    read_traces: ReadTraces | None = None,
) -> AsyncIterator[str]:
    """Events from successive reads until the end event. `read` and `read_traces` run in a
    thread (they query the database); a client that goes away cancels this generator."""

    def event_id(cursor: Cursor) -> str:
        if read_traces is None:
            return str(cursor.version)
        return f"{cursor.version}.{cursor.step}.{cursor.probes}"

    yield f"retry: {RETRY_MS}\n\n"
    sent_statuses: dict[str, str] = {}
    quiet_since = time.monotonic()
    while True:
        snapshot = await run_in_threadpool(read)
        # A sweep's version can fall when a member is deleted; ids must still increase.
        version = snapshot.version if last is None else max(snapshot.version, last.version + 1)
        sent = last or Cursor(version - 1)
        while read_traces is not None and traces_pending(snapshot.traces, sent):
            data, sent = await run_in_threadpool(read_traces, sent, snapshot.traces)
            yield _frame("traces", data, event_id(sent))
            quiet_since = time.monotonic()
        if last is None or snapshot.version > last.version or snapshot.end is not None:
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
            sent = replace(sent, version=version) if events else sent
            for index, (name, data) in enumerate(events):
                yield _frame(name, data, event_id(sent) if index == len(events) - 1 else None)
            if events:
                quiet_since = time.monotonic()
        last = sent
        if snapshot.end is not None:
            return
        if time.monotonic() - quiet_since > KEEPALIVE_S:
            yield ": keep-alive\n\n"  # proxies drop connections that stay silent
            quiet_since = time.monotonic()
        await asyncio.sleep(poll_s)

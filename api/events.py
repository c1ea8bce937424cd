"""Server-Sent Events for a job or a sweep, derived from the state stored in the database.

A stream is handed the state after every read (api/event_hub.py reads it once per
`events_poll_interval_s` for all streams) and sends what changed: for a job, `traces` events
with the trace data stored since the last one it sent, then `status` and `progress` events, and
a final `end` event, after which it closes. The events are framed by sse-starlette's
EventSourceResponse (api/routes/events.py), which also sends the keep-alive comments.

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

import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from typing import Any

from starlette.concurrency import run_in_threadpool

from jobs.trace_read import Stored

RETRY_MS = 1000


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


def _event(name: str, data: dict[str, Any], event_id: str | None) -> dict[str, Any]:
    """One event as EventSourceResponse takes it."""
    event = {"event": name, "data": json.dumps(data, separators=(",", ":"))}
    return event if event_id is None else {"id": event_id, **event}


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
    states: AsyncGenerator[Snapshot],
    last: Cursor | None,
    read_traces: ReadTraces | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Events from successive states until the end event. `read_traces` runs in a thread (it
    queries the database); a client that goes away cancels this generator."""

    def event_id(cursor: Cursor) -> str:
        if read_traces is None:
            return str(cursor.version)
        return f"{cursor.version}.{cursor.step}.{cursor.probes}"

    yield {"retry": RETRY_MS}
    sent_statuses: dict[str, str] = {}
    async with aclosing(states):  # stops watching when the stream ends, however it ends
        async for snapshot in states:
            # A sweep's version can fall when a member is deleted; ids must still increase.
            version = snapshot.version if last is None else max(snapshot.version, last.version + 1)
            sent = last or Cursor(version - 1)
            while read_traces is not None and traces_pending(snapshot.traces, sent):
                data, sent = await run_in_threadpool(read_traces, sent, snapshot.traces)
                yield _event("traces", data, event_id(sent))
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
                    yield _event(name, data, event_id(sent) if index == len(events) - 1 else None)
            last = sent
            if snapshot.end is not None:
                return

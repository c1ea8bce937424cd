"""GET .../events: Server-Sent Events for one experiment or a whole sweep (see api/events.py).

The response is sse-starlette's EventSourceResponse. The StreamingResponse with our own
framing it replaced was smaller, but it noticed a departed client only at its next write (up to
a keep-alive interval later), kept HEAD requests hanging on an endless body, and kept a
graceful shutdown waiting for as long as any stream lasted. EventSourceResponse watches for
the disconnect while the stream waits, so a slot under GRADFLOW_MAX_STREAMS_PER_KEY is freed at
once; it also sends the keep-alive comments, answers HEAD with headers alone, and closes
streams on shutdown.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request, Response
from sqlalchemy.orm import Session, sessionmaker
from sse_starlette import EventSourceResponse
from starlette.types import Receive, Scope, Send

from api.deps import OwnerDep, SessionDep, SettingsDep
from api.errors import not_found
from api.event_hub import EventHub
from api.event_states import Watched, read_states
from api.events import Cursor, ReadTraces, Snapshot, already_ended, parse_last_event_id, stream
from api.ids import JobId, SweepId
from api.responses import ErrorOut, refusals
from api.routes.sweeps import sweep_or_404
from jobs.trace_format import STEP_PARTS
from jobs.trace_read import Stored, read_slice

router = APIRouter(tags=["events"])
EVENT_STREAM = {
    200: {"content": {"text/event-stream": {}}, "description": "the event stream"},
    204: {"description": "Last-Event-ID is at or past the end: nothing more will come"},
    429: {
        "model": ErrorOut,
        "description": "This API key holds GRADFLOW_MAX_STREAMS_PER_KEY open streams already.",
    },
} | refusals(404)
LastEventId = Annotated[str | None, Header(alias="Last-Event-ID")]
# Proxies drop connections that stay silent; a comment this often keeps them open.
KEEPALIVE_S = 15.0


class HeldStream(EventSourceResponse):
    """An event stream that gives its slot back however it ends: its end event, the client
    leaving, or the server shutting down."""

    def __init__(self, events: AsyncGenerator[dict[str, Any]], owner: str | None) -> None:
        super().__init__(events, sep="\n", ping=KEEPALIVE_S)
        self.owner = owner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            scope["app"].state.stream_slots.give_back(self.owner)


def _trace_reader(sessions: sessionmaker[Session], max_values: int) -> ReadTraces:
    """Reads the traces after a cursor, at most about `max_values` numbers per event: a
    client far behind gets its backlog in several events."""

    def read(sent: Cursor, stored: Stored) -> tuple[dict, Cursor]:
        meta = stored.meta
        columns = sum(len(meta[name]["columns"]) for name in STEP_PARTS if meta[name])
        hidden = meta["hidden_grad"]
        per_probe = len(hidden["layers"]) * hidden["time_steps"] * (3 if meta["dynamics"] else 1)
        last = -1 if stored.last_step is None else stored.last_step
        high = min(last, sent.step + max(1, max_values // max(columns, 1)) - 1)
        probes = range(
            sent.probes, min(stored.probes, sent.probes + max(1, max_values // per_probe))
        )
        with sessions() as session:
            data = read_slice(session, stored, sent.step, high, probes)
        return data, Cursor(sent.version, max(high + 1, sent.step), probes.stop)

    return read


async def states(first: Snapshot, hub: EventHub, watched: Watched) -> AsyncGenerator[Snapshot]:
    """`first`, then the state after each of the hub's polls."""
    yield first
    async with aclosing(hub.watch(watched)) as updates:
        async for state in updates:
            # Deleted while streaming: end the stream instead of failing it.
            yield state or Snapshot(first.version + 1, end={"status": "deleted"})


def _respond(
    request: Request,
    watched: Watched,
    missing: HTTPException,
    last: str | None,
    owner: str | None,
    read_traces: ReadTraces | None = None,
) -> Response:
    first = read_states(request.app.state.sessions, [watched])[watched]
    if first is None:
        raise missing
    last_id = parse_last_event_id(last)
    if already_ended(first, last_id):
        return Response(status_code=204)
    request.app.state.stream_slots.take(owner)  # the last step: HeldStream gives it back
    updates = states(first, request.app.state.event_hub, watched)
    return HeldStream(stream(updates, last_id, read_traces), owner)


@router.get("/experiments/{job_id}/events", responses=EVENT_STREAM)
def experiment_events(
    job_id: JobId,
    request: Request,
    settings: SettingsDep,
    owner: OwnerDep,
    last_event_id: LastEventId = None,
) -> Response:
    """`traces` events with the trace data stored since the previous one (slice-shaped: new
    loss, gradient-norm and weight-change points, each new probe's |dL/dh_t| curves), `status`
    and `progress` events as they happen, then `end` {status, error, summary} and the stream
    closes. Reconnecting with Last-Event-ID resumes without gaps or repeats; after the end it
    answers 204."""
    read_traces = _trace_reader(request.app.state.sessions, settings.events_trace_max_values)
    missing = not_found("experiment", job_id)
    return _respond(request, ("job", job_id), missing, last_event_id, owner, read_traces)


@router.get("/sweeps/{sweep_id}/events", responses=EVENT_STREAM)
def sweep_events(
    sweep_id: SweepId,
    request: Request,
    session: SessionDep,
    owner: OwnerDep,
    last_event_id: LastEventId = None,
) -> Response:
    """A `status` event per experiment whose status changed, a `progress` event {counts, done,
    size, fraction} per change, and `end` once no experiment is queued or running."""
    sweep_or_404(session, sweep_id, owner)
    session.close()  # the stream reads with sessions of its own; free this connection now
    return _respond(request, ("sweep", sweep_id), HTTPException(404), last_event_id, owner)

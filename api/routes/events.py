"""GET .../events: Server-Sent Events for one experiment or a whole sweep (see api/events.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session, sessionmaker

from api import sweeps
from api.deps import OwnerDep, SessionDep, SettingsDep
from api.errors import not_found
from api.events import (
    Cursor,
    ReadTraces,
    Snapshot,
    already_ended,
    parse_last_event_id,
    stream,
)
from api.ids import JobId, SweepId
from api.responses import refusals
from api.routes.sweeps import sweep_or_404
from api.schemas import ProgressOut
from jobs import store
from jobs.models import Sweep
from jobs.statuses import FINAL_STATUSES, JobStatus
from jobs.trace_format import STEP_PARTS
from jobs.trace_read import Stored, read_slice

router = APIRouter(tags=["events"])
EVENT_STREAM = {
    200: {"content": {"text/event-stream": {}}, "description": "the event stream"},
    204: {"description": "Last-Event-ID is at or past the end: nothing more will come"},
} | refusals(404)
LastEventId = Annotated[str | None, Header(alias="Last-Event-ID")]


def _job_reader(sessions: sessionmaker[Session], job_id: str) -> Callable[[], Snapshot | None]:
    def read() -> Snapshot | None:
        with sessions() as session:
            job = store.get_job(session, job_id)
            if job is None:
                return None
            snapshot = Snapshot(job.version, statuses={job.id: job.status}, traces=Stored.of(job))
            if job.status == JobStatus.running:
                snapshot.progress = ProgressOut.from_job(job).model_dump()
            if job.status in FINAL_STATUSES:
                snapshot.end = {"id": job.id, "status": job.status, "error": job.error}
                snapshot.end["summary"] = job.summary
            return snapshot

    return read


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


def _sweep_reader(sessions: sessionmaker[Session], sweep_id: str) -> Callable[[], Snapshot | None]:
    def read() -> Snapshot | None:
        with sessions() as session:
            if session.get(Sweep, sweep_id) is None:
                return None
            jobs = [job for _member, job in sweeps.members(session, sweep_id)]
        counts: dict[str, int] = {}
        for job in jobs:
            counts[job.status] = counts.get(job.status, 0) + 1
        done = sum(counts.get(status, 0) for status in FINAL_STATUSES)
        snapshot = Snapshot(
            sum(job.version for job in jobs),
            statuses={job.id: job.status for job in jobs},
            progress={
                "counts": counts,
                "done": done,
                "size": len(jobs),
                # Finished experiments count whole, running ones by their steps.
                "fraction": (
                    done
                    + sum(job.progress_fraction for job in jobs if job.status == JobStatus.running)
                )
                / max(len(jobs), 1),
            },
        )
        if done == len(jobs):
            snapshot.end = {"id": sweep_id, "status": "finished", "counts": counts}
        return snapshot

    return read


def _respond(
    read: Callable[[], Snapshot | None],
    missing: HTTPException,
    last: str | None,
    poll_s: float,
    read_traces: ReadTraces | None = None,
) -> Response:
    first = read()
    if first is None:
        raise missing
    last_id = parse_last_event_id(last)
    if already_ended(first, last_id):
        return Response(status_code=204)

    def read_or_gone() -> Snapshot:
        # Deleted while streaming: end the stream instead of failing it.
        snapshot = read()
        return snapshot or Snapshot(first.version + 1, end={"status": "deleted"})

    return StreamingResponse(
        stream(read_or_gone, last_id, poll_s, read_traces),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/experiments/{job_id}/events", responses=EVENT_STREAM)
def experiment_events(
    job_id: JobId, request: Request, settings: SettingsDep, last_event_id: LastEventId = None
) -> Response:
    """`traces` events with the trace data stored since the previous one (slice-shaped: new
    loss, gradient-norm and weight-change points, each new probe's |dL/dh_t| curves), `status`
    and `progress` events as they happen, then `end` {status, error, summary} and the stream
    closes. Reconnecting with Last-Event-ID resumes without gaps or repeats; after the end it
    answers 204."""
    sessions = request.app.state.sessions
    read = _job_reader(sessions, job_id)
    missing = not_found("experiment", job_id)
    read_traces = _trace_reader(sessions, settings.events_trace_max_values)
    return _respond(read, missing, last_event_id, settings.events_poll_interval_s, read_traces)


@router.get("/sweeps/{sweep_id}/events", responses=EVENT_STREAM)
def sweep_events(
    sweep_id: SweepId,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    owner: OwnerDep,
    last_event_id: LastEventId = None,
) -> Response:
    """A `status` event per experiment whose status changed, a `progress` event {counts, done,
    size, fraction} per change, and `end` once no experiment is queued or running."""
    sweep_or_404(session, sweep_id, owner)
    session.close()  # the stream reads with sessions of its own; free this connection now
    read = _sweep_reader(request.app.state.sessions, sweep_id)
    return _respond(read, HTTPException(404), last_event_id, settings.events_poll_interval_s)

"""The experiments resource: submit, list, poll, fetch results, cancel, delete."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.responses import JSONResponse, StreamingResponse
from kombu.exceptions import OperationalError

from api import admission, labels
from api.deps import CeleryDep, IdempotencyKey, OwnerDep, SessionDep, SettingsDep
from api.errors import not_found
from api.ids import JobId
from api.labels import ExperimentIn, LabelsPatch
from api.list_query import ListQuery
from api.responses import BODY, SUBMISSION, refusals
from api.schemas import ExperimentBrief, ExperimentOut, ExperimentPage, ResultOut, ResultQuery
from api.trace_stream import json_chunks, marks
from jobs import listing, store
from jobs.models import Job
from jobs.queue import enqueue
from jobs.statuses import JobStatus
from jobs.trace_read import Stored, view

log = logging.getLogger(__name__)
router = APIRouter(prefix="/experiments", tags=["experiments"])


def _job_or_404(session: SessionDep, job_id: str) -> Job:
    job = store.get_job(session, job_id)
    if job is None:
        raise not_found("experiment", job_id)
    return job


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ExperimentOut,
    responses={200: {"model": ExperimentOut, "description": "An Idempotency-Key replay"}}
    | refusals(*SUBMISSION),
)
def submit(
    body: ExperimentIn,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    celery: CeleryDep,
    owner: OwnerDep,
    idempotency_key: IdempotencyKey = None,
) -> ExperimentOut:
    job, created = admission.admit_experiment(session, settings, body, owner, idempotency_key)
    response.headers["Location"] = f"/v1/experiments/{job.id}"
    if not created:
        # A replay: the experiment the first request made, as it is now.
        response.status_code = status.HTTP_200_OK
        return ExperimentOut.from_job(job)
    try:
        enqueue(celery, settings.queue, job.id)
    except OperationalError as exc:
        log.error("could not enqueue job %s: %s", job.id, exc)
        store.fail_job(session, job.id, f"the broker was unreachable at submission ({exc})")
        raise HTTPException(
            503,
            "the job broker (Redis) is unreachable, so the experiment was not queued; "
            "GET /v1/health shows what is down. Submit again once it is back.",
        ) from exc
    return ExperimentOut.from_job(job)


@router.get("", response_model=ExperimentPage)
def list_experiments(
    session: SessionDep, owner: OwnerDep, query: Annotated[ListQuery, Query()]
) -> ExperimentPage:
    """One page of experiments, filtered and sorted as asked (newest first by default)."""
    where = query.job_filter(owner)
    jobs, total = listing.list_jobs(
        session, where, query.limit, query.offset, query.sort, query.order
    )
    return ExperimentPage(
        items=[ExperimentBrief.from_job(job) for job in jobs],
        total=total,
        limit=query.limit,
        offset=query.offset,
    )


@router.get("/{job_id}", response_model=ExperimentOut, responses=refusals(404))
def get_experiment(job_id: JobId, session: SessionDep) -> ExperimentOut:
    return ExperimentOut.from_job(_job_or_404(session, job_id))


@router.patch("/{job_id}", response_model=ExperimentOut, responses=refusals(*BODY, 404, 409))
def patch_experiment(job_id: JobId, body: LabelsPatch, session: SessionDep) -> ExperimentOut:
    """Change the experiment's name, tags or notes (only these); the others stay."""
    job = _job_or_404(session, job_id)
    labels.apply(job, body.changes())
    labels.save(session, "experiment", job_id)
    return ExperimentOut.from_job(job)


@router.get(
    "/{job_id}/results",
    response_model=None,
    responses={
        200: {"model": ResultOut, "description": "the result, or so far (partial) while running"},
    }
    | refusals(404, 409),
)
def get_results(
    job_id: JobId, request: Request, session: SessionDep, query: Annotated[ResultQuery, Query()]
) -> Response:
    """The stored traces and summary. While the job runs: what it has stored so far, with
    `partial: true`. Without max_points the document is streamed as it is read."""
    stored = stored_result(session, job_id)
    fields, low, high = query.field_list, query.step_from, query.step_to
    if query.max_points is None:
        session.close()  # the stream reads with a session of its own; free this connection now
        chunks = json_chunks(request.app.state.sessions, stored, fields, low, high)
        return StreamingResponse(chunks, media_type="application/json")
    # Built as plain JSON data: re-validating a long run's traces would dominate the request.
    return JSONResponse(view(session, stored, fields, low, high, query.max_points) | marks(stored))


def stored_result(session: SessionDep, job_id: str) -> Stored:
    """What a read of the job's result may see; 404 for an unknown job, 409 while queued or
    when it ended without storing anything."""
    job = _job_or_404(session, job_id)
    if job.status == JobStatus.queued:
        raise HTTPException(
            409,
            f"experiment {job_id} is queued; poll GET /v1/experiments/{job_id} (or follow "
            f"/v1/experiments/{job_id}/events) until it is running: from then on its results "
            "grow as it trains",
        )
    if job.trace_meta is None and job.status != JobStatus.running:
        reason = f": {job.error}" if job.error else " (it was cancelled before it started)"
        raise HTTPException(409, f"experiment {job_id} ended {job.status} without results{reason}")
    return Stored.of(job)


@router.post(
    "/{job_id}/cancel",
    response_model=ExperimentOut,
    responses={202: {"model": ExperimentOut, "description": "Stops at its next check"}}
    | refusals(404, 409),
)
def cancel(job_id: JobId, session: SessionDep, response: Response) -> ExperimentOut:
    job = _job_or_404(session, job_id)
    cancelled = store.cancel_job(session, job_id)
    session.refresh(job)
    if not cancelled:
        raise HTTPException(409, f"experiment {job_id} already ended {job.status}")
    # A running job stops at its worker's next check: accepted, not yet done.
    response.status_code = 200 if job.status == JobStatus.cancelled else 202
    return ExperimentOut.from_job(job)


@router.delete("/{job_id}", status_code=status.HTTP_204_NO_CONTENT, responses=refusals(404))
def delete(job_id: JobId, session: SessionDep) -> None:
    if not store.delete_job(session, job_id):
        raise not_found("experiment", job_id)

"""The sweeps resource: submit a grid, follow it, compare its experiments, cancel it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api import admission, labels, reproductions, sweeps
from api.compare import CURVE_METRICS, METRICS, Comparison, compare_curves, compare_scalar
from api.deps import CeleryDep, OwnerDep, SessionDep, SettingsDep
from api.errors import invalid, not_found
from api.ids import SweepId
from api.labels import LabelsPatch
from api.list_query import PageQuery
from api.responses import BODY, SUBMISSION, refusals
from api.sweep_schemas import SweepBrief, SweepIn, SweepOut, SweepPage
from jobs import listing, store
from jobs.models import Job, Sweep
from jobs.statuses import ACTIVE_STATUSES
from jobs.trace_probes import probe_curves
from jobs.trace_read import Stored

router = APIRouter(prefix="/sweeps", tags=["sweeps"])


def sweep_or_404(session: SessionDep, sweep_id: str, owner: str | None) -> Sweep:
    """The sweep; another API key's is a 404, like an id that does not exist."""
    sweep = session.get(Sweep, sweep_id)
    if sweep is None or (owner is not None and sweep.owner != owner):
        raise not_found("sweep", sweep_id)
    return sweep


def _sweep_out(session: SessionDep, sweep: Sweep) -> SweepOut:
    rows = sweeps.members(session, sweep.id)
    return SweepOut.from_rows(sweep, rows, reproductions.run_of_sweep(session, sweep.id))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SweepOut,
    responses=refusals(*SUBMISSION),
)
def submit_sweep(
    body: SweepIn,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    celery: CeleryDep,
    owner: OwnerDep,
) -> SweepOut:
    sweep, jobs = admission.admit_sweep(session, settings, body, owner)
    admission.enqueue_sweeps(session, celery, settings.queue, [(sweep, jobs)])
    response.headers["Location"] = f"/v1/sweeps/{sweep.id}"
    return SweepOut.from_rows(sweep, sweeps.members(session, sweep.id))


@router.get("", response_model=SweepPage)
def list_sweeps(
    session: SessionDep, owner: OwnerDep, query: Annotated[PageQuery, Query()]
) -> SweepPage:
    """One page of sweeps, newest first, filtered by tags and name as asked."""
    page = listing.list_sweeps(session, query.labelled(owner), query.limit, query.offset)
    return SweepPage(
        items=[SweepBrief.from_sweep(sweep) for sweep in page],
        limit=query.limit,
        offset=query.offset,
    )


@router.get("/{sweep_id}", response_model=SweepOut, responses=refusals(404))
def get_sweep(sweep_id: SweepId, session: SessionDep, owner: OwnerDep) -> SweepOut:
    sweep = sweep_or_404(session, sweep_id, owner)
    return _sweep_out(session, sweep)


@router.patch("/{sweep_id}", response_model=SweepOut, responses=refusals(*BODY, 404, 409))
def patch_sweep(
    sweep_id: SweepId, body: LabelsPatch, session: SessionDep, owner: OwnerDep
) -> SweepOut:
    """Change the sweep's name, tags or notes (only these; its experiments keep theirs)."""
    sweep = sweep_or_404(session, sweep_id, owner)
    labels.apply(sweep, body.changes())
    labels.save(session, "sweep", sweep_id)
    return _sweep_out(session, sweep)


@router.get("/{sweep_id}/compare", response_model=Comparison, responses=refusals(404))
def compare(
    sweep_id: SweepId,
    session: SessionDep,
    owner: OwnerDep,
    metric: Annotated[str, Query(json_schema_extra={"enum": list(METRICS)})] = "final_loss",
    x: Annotated[
        str | None, Query(description="a grid axis of the sweep; default: the first")
    ] = None,
) -> Comparison:
    sweep = sweep_or_404(session, sweep_id, owner)
    if metric not in METRICS:
        raise invalid("query", "metric", f"unknown metric; use one of {', '.join(METRICS)}", metric)
    rows = sweeps.members(session, sweep_id)
    if metric in CURVE_METRICS:
        return compare_curves(rows, lambda job: _last_curve(session, job))
    axis = x or next(iter(sweep.grid))
    if axis not in sweep.grid:
        raise invalid("query", "x", f"not a grid axis; use one of {', '.join(sweep.grid)}", x)
    return compare_scalar(sweep.grid, rows, metric, axis)


def _last_curve(session: SessionDep, job: Job) -> tuple[int, list[float]] | None:
    """The step and first layer's |dL/dh_t| curve of the job's last stored probe."""
    probe = probe_curves(session, Stored.of(job))
    return None if probe is None else (probe[0], probe[1][0].tolist())


@router.post("/{sweep_id}/cancel", response_model=SweepOut, responses=refusals(404))
def cancel_sweep(sweep_id: SweepId, session: SessionDep, owner: OwnerDep) -> SweepOut:
    """Cancel every experiment still queued (at once) or running (at its next check)."""
    sweep = sweep_or_404(session, sweep_id, owner)
    for _member, job in sweeps.members(session, sweep_id):
        if job.status in ACTIVE_STATUSES:
            store.cancel_job(session, job.id)
    return _sweep_out(session, sweep)

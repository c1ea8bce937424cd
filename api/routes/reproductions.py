"""The reproductions resource: the gallery's claims, started as sweeps and judged by their
predicates (the logic is in api/reproductions.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Response, status

from api import admission, reproductions
from api.deps import CeleryDep, OwnerDep, SessionDep, SettingsDep
from api.ids import ReproductionRunId
from api.reproduction_schemas import (
    ReproductionIn,
    ReproductionList,
    ReproductionOut,
    ReproductionRunOut,
)
from api.responses import SUBMISSION, refusals
from gradcore.reproductions import REPRODUCTIONS
from jobs.models import ReproductionRun

router = APIRouter(prefix="/reproductions", tags=["reproductions"])
NAMES = list(REPRODUCTIONS)


def _run_out(session: SessionDep, run: ReproductionRun) -> ReproductionRunOut:
    return ReproductionRunOut.of(
        run,
        REPRODUCTIONS[run.name],
        reproductions.sweep_ids(session, run.id),
        reproductions.decide(session, run),
    )


@router.get("", response_model=ReproductionList)
def list_reproductions() -> ReproductionList:
    """Every claim of the gallery with its plans, as the sweeps a run submits."""
    return ReproductionList(items=[ReproductionOut.of(r) for r in REPRODUCTIONS.values()])


@router.post(
    "/{name}",
    status_code=status.HTTP_201_CREATED,
    response_model=ReproductionRunOut,
    responses=refusals(404, *SUBMISSION),
)
def start_reproduction(
    name: Annotated[
        str, Path(description="a reproduction's name", json_schema_extra={"enum": NAMES})
    ],
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    celery: CeleryDep,
    owner: OwnerDep,
    body: Annotated[ReproductionIn | None, Body()] = None,
) -> ReproductionRunOut:
    """Submit the claim's plans at the scale as sweeps (one submission: all or none) and
    answer the run, pending; GET /v1/reproductions/runs/{id} gives its verdict."""
    reproduction = reproductions.reproduction_or_404(name)
    body = body or ReproductionIn()
    run, admitted = reproductions.start(
        session, settings, reproduction, body.scale, body.seeds, owner
    )
    admission.enqueue_sweeps(session, celery, settings.queue, admitted)
    response.headers["Location"] = f"/v1/reproductions/runs/{run.id}"
    return _run_out(session, run)


@router.get("/runs/{run_id}", response_model=ReproductionRunOut, responses=refusals(404))
def get_reproduction_run(
    run_id: ReproductionRunId, session: SessionDep, owner: OwnerDep
) -> ReproductionRunOut:
    """The run's verdict: pending, passed, failed, or undecided (and why)."""
    return _run_out(session, reproductions.run_or_404(session, run_id, owner))

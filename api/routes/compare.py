"""GET /v1/compare: any of the caller's experiments, aligned for plotting together."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import OwnerDep, SessionDep
from api.errors import invalid, not_found
from api.ids import checked_id
from api.responses import refusals
from api.run_compare import Probe, RunComparison, compare_runs
from gradcore.spec import LIMITS
from jobs.models import Job

router = APIRouter(tags=["experiments"])

RUNS_MIN, RUNS_MAX = 2, 16
# Points per series and run: 16 runs of three series stay a few megabytes of JSON.
COMPARE_POINTS_MAX = 20_000


def _ids(ids: str) -> list[str]:
    listed = [part.strip() for part in ids.split(",")]
    if not RUNS_MIN <= len(listed) <= RUNS_MAX:
        raise invalid(
            "query", "ids", f"give {RUNS_MIN} to {RUNS_MAX} experiment ids, comma-separated", ids
        )
    repeated = sorted({job_id for job_id in listed if listed.count(job_id) > 1})
    if repeated:
        raise invalid("query", "ids", f"{', '.join(repeated)} given more than once", ids)
    return listed


def _probe(probe: str) -> Probe:
    if probe == "last":
        return probe
    if probe.isascii() and probe.isdigit() and int(probe) <= LIMITS["steps_max"]:
        return int(probe)
    raise invalid(
        "query",
        "probe",
        f"'last' or a training step from 0 to {int(LIMITS['steps_max'])}",
        probe,
    )


@router.get("/compare", response_model=RunComparison, responses=refusals(404))
def compare(
    session: SessionDep,
    owner: OwnerDep,
    ids: Annotated[
        str,
        Query(
            max_length=RUNS_MAX * 40,
            description=f"{RUNS_MIN} to {RUNS_MAX} experiment ids, comma-separated; the answer "
            "keeps their order. Running ones are compared as far as they have come.",
        ),
    ],
    probe: Annotated[
        str,
        Query(
            pattern=r"^(last|[0-9]{1,7})$",
            description="'last' (each run's last probe) or a training step (each run's probe "
            "nearest it, the earlier of two as near)",
        ),
    ] = "last",
    max_points: Annotated[
        int,
        Query(
            ge=2,
            le=COMPARE_POINTS_MAX,
            description="Downsample each run's series over training to at most this many "
            "points, keeping the first, the last and each bucket's minimum and maximum.",
        ),
    ] = 1000,
) -> RunComparison:
    """Experiments side by side: the spec fields that differ, the top layer's |dL/dh_t| at a
    probe aligned by t and by t - T, and the loss, pre-clip gradient norm and gradient horizon
    over training. A key sees only its own experiments (another's id is a 404)."""
    chosen = _probe(probe)
    jobs = []
    for job_id in _ids(ids):
        job = session.get(Job, checked_id("experiment", job_id))
        if job is None or (owner is not None and job.owner != owner):
            raise not_found("experiment", job_id)
        jobs.append(job)
    return compare_runs(session, jobs, chosen, max_points)

"""Reproductions over HTTP: a gallery claim (gradcore.reproductions) started as sweeps, one per
plan, and its verdict decided from the members' stored results by the gallery's own predicate
(`measure` on each result, `judge` on the table), as `python -m cli reproduce` decides it here.

A run's sweeps are admitted together (api/admission.py: one submission, one transaction). The
table the predicate reads is table[p][s] over every plan's grid points in order, seed s
innermost: the order a sweep expands in, so member position // seeds is the point.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import cast

from fastapi import HTTPException
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import admission, sweeps
from api.errors import not_found
from api.sweep_schemas import SweepIn
from gradcore.reproductions import REPRODUCTIONS, Reproduction, Scale
from gradcore.reproductions.base import Table
from gradcore.result import ExperimentResult
from jobs.models import Job, ReproductionRun, ReproductionSweep, Sweep, SweepMember
from jobs.settings import Settings
from jobs.statuses import ACTIVE_STATUSES, JobStatus
from jobs.trace_read import read_view

# A finished member whose result the predicate reads: diverging is an outcome some claims
# are about (relu_clipping); a failed or cancelled run has no result to judge.
JUDGED_STATUSES = (JobStatus.succeeded, JobStatus.diverged)


def reproduction_or_404(name: str) -> Reproduction:
    if name not in REPRODUCTIONS:
        raise HTTPException(
            404, f"reproduction {name!r} not found; known: {', '.join(REPRODUCTIONS)}"
        )
    return REPRODUCTIONS[name]


def plan_bodies(reproduction: Reproduction, scale: Scale, seeds: int) -> list[SweepIn]:
    """Each plan of the scale as the body of POST /v1/sweeps, named and tagged after the
    reproduction so that lists find its sweeps."""
    plans = reproduction.plans[scale]
    return [
        SweepIn(
            base=plan.base,
            grid=plan.grid,
            seeds=seeds,
            name=f"{reproduction.name} ({scale} scale), plan {number} of {len(plans)}",
            tags=sorted(["reproduction", reproduction.name, scale]),
        )
        for number, plan in enumerate(plans, start=1)
    ]


def start(
    session: Session,
    settings: Settings,
    reproduction: Reproduction,
    scale: Scale,
    seeds: int,
    owner: str | None,
) -> tuple[ReproductionRun, list[tuple[Sweep, list[Job]]]]:
    """The stored run and its sweeps with their jobs (not yet queued); a 4xx stores nothing."""
    run = ReproductionRun(
        id=uuid.uuid4().hex, name=reproduction.name, scale=scale, seeds=seeds, owner=owner
    )

    def record(made: list[Sweep]) -> None:
        session.add(run)
        session.flush()  # the run row before the links that reference it
        session.add_all(
            ReproductionSweep(sweep_id=sweep.id, run_id=run.id, plan=plan)
            for plan, sweep in enumerate(made)
        )

    bodies = plan_bodies(reproduction, scale, seeds)
    admitted = admission.admit_sweeps(session, settings, bodies, owner, record)
    return run, admitted


def run_or_404(session: Session, run_id: str, owner: str | None) -> ReproductionRun:
    """The run; another API key's is a 404, like an id that does not exist."""
    run = session.get(ReproductionRun, run_id)
    if run is None or (owner is not None and run.owner != owner):
        raise not_found("reproduction run", run_id)
    return run


def sweep_ids(session: Session, run_id: str) -> list[str]:
    """The run's sweeps in plan order."""
    return list(
        session.scalars(
            select(ReproductionSweep.sweep_id)
            .where(ReproductionSweep.run_id == run_id)
            .order_by(ReproductionSweep.plan)
        )
    )


def run_of_sweep(session: Session, sweep_id: str) -> str | None:
    """The reproduction run a sweep was started for, if any."""
    return session.scalar(
        select(ReproductionSweep.run_id).where(ReproductionSweep.sweep_id == sweep_id)
    )


@dataclass
class Decision:
    """Where a run stands: `pending` while members run; `passed` or `failed` once the
    predicate has read every result; `undecided` when a member cannot give one."""

    status: str
    counts: dict[str, int]  # members per job status
    total: int  # members the run was started with
    passed: bool | None = None
    measured: str | None = None
    # Why a run is undecided: each member that stops a decision, as (experiment id, sweep id,
    # status, error), how many members were deleted, and all of it in words.
    blocking: list[tuple[str, str, str, str | None]] = field(default_factory=list)
    deleted: int = 0
    reason: str | None = None


def decide(session: Session, run: ReproductionRun) -> Decision:
    """The run's verdict, kept on the run row once the predicate has given it."""
    reproduction = REPRODUCTIONS[run.name]
    rows = [
        (sweep_id, sweeps.members(session, sweep_id)) for sweep_id in sweep_ids(session, run.id)
    ]
    total = sum(sweeps.sweep_size(plan.grid, run.seeds) for plan in reproduction.plans[_scale(run)])
    counts: dict[str, int] = {}
    for _sweep_id, members in rows:
        for _member, job in members:
            counts[job.status] = counts.get(job.status, 0) + 1
    if run.passed is not None:
        return Decision(_verdict(run.passed), counts, total, run.passed, run.measured)
    blocking = [
        (job.id, sweep_id, job.status, job.error)
        for sweep_id, members in rows
        for _member, job in members
        if job.status not in (*ACTIVE_STATUSES, *JUDGED_STATUSES)
    ]
    present = sum(counts.values())
    if blocking or present < total:
        stopped = [f"experiment {job_id} {status}" for job_id, _sweep, status, _e in blocking]
        stopped += [f"{total - present} experiment(s) deleted"] if present < total else []
        reason = f"no verdict: {'; '.join(stopped)}"
        return Decision("undecided", counts, total, None, None, blocking, total - present, reason)
    if any(job.status in ACTIVE_STATUSES for _sweep_id, ms in rows for _member, job in ms):
        return Decision("pending", counts, total)
    try:
        verdict = reproduction.judge(_table(session, reproduction, rows, run.seeds))
    except (ArithmeticError, LookupError, ValueError) as exc:
        # Results the predicate cannot read (a run that diverged before its first probe, say)
        # decide nothing; the message says what broke.
        reason = f"no verdict: the predicate could not read the results ({exc!r})"
        return Decision("undecided", counts, total, reason=reason)
    run.passed, run.measured = verdict.passed, verdict.measured
    session.commit()
    return Decision(_verdict(verdict.passed), counts, total, verdict.passed, verdict.measured)


def _table(
    session: Session,
    reproduction: Reproduction,
    rows: list[tuple[str, list[tuple[SweepMember, Job]]]],
    seeds: int,
) -> Table:
    """table[p][s]: the numbers `measure` reads off each member's stored result."""
    numbers = [
        reproduction.measure(ExperimentResult.model_validate(read_view(session, job.id)))
        for _sweep_id, members in rows
        for _member, job in members
    ]
    return [numbers[first : first + seeds] for first in range(0, len(numbers), seeds)]


def _scale(run: ReproductionRun) -> Scale:
    return cast(Scale, run.scale)  # stored from a validated request


def _verdict(passed: bool) -> str:
    return "passed" if passed else "failed"

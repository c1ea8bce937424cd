"""The state event streams send, read for many jobs and sweeps at once.

`read_states` serves every open stream of an API process with at most two queries (one for
the jobs followed directly, one for the sweeps), however many streams there are.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.events import Snapshot
from api.schemas import ProgressOut
from jobs.models import Job, Sweep, SweepMember
from jobs.statuses import FINAL_STATUSES, JobStatus
from jobs.trace_read import Stored

# What a stream follows: ("job", job id) or ("sweep", sweep id).
Watched = tuple[Literal["job", "sweep"], str]


def job_snapshot(job: Job) -> Snapshot:
    snapshot = Snapshot(job.version, statuses={job.id: job.status}, traces=Stored.of(job))
    if job.status == JobStatus.running:
        snapshot.progress = ProgressOut.from_job(job).model_dump()
    if job.status in FINAL_STATUSES:
        snapshot.end = {"id": job.id, "status": job.status, "error": job.error}
        snapshot.end["summary"] = job.summary
    return snapshot


def sweep_snapshot(sweep_id: str, jobs: list[Job]) -> Snapshot:
    counts: dict[str, int] = {}
    for job in jobs:
        counts[job.status] = counts.get(job.status, 0) + 1
    done = sum(counts.get(status, 0) for status in FINAL_STATUSES)
    # Finished experiments count whole, running ones by their steps.
    running = sum(job.progress_fraction for job in jobs if job.status == JobStatus.running)
    snapshot = Snapshot(
        sum(job.version for job in jobs),
        statuses={job.id: job.status for job in jobs},
        progress={
            "counts": counts,
            "done": done,
            "size": len(jobs),
            "fraction": (done + running) / max(len(jobs), 1),
        },
    )
    if done == len(jobs):
        snapshot.end = {"id": sweep_id, "status": "finished", "counts": counts}
    return snapshot


def read_states(
    sessions: sessionmaker[Session], watched: Collection[Watched]
) -> dict[Watched, Snapshot | None]:
    """The snapshot of each watched job and sweep; None for one that does not exist (any
    more)."""
    job_ids = [ident for kind, ident in watched if kind == "job"]
    sweep_ids = [ident for kind, ident in watched if kind == "sweep"]
    states: dict[Watched, Snapshot | None] = dict.fromkeys(watched)
    with sessions() as session:
        if job_ids:
            for job in session.scalars(select(Job).where(Job.id.in_(job_ids))):
                states["job", job.id] = job_snapshot(job)
        if sweep_ids:
            members: dict[str, list[Job]] = {}
            # Outer joins: a sweep whose members were all deleted still exists, with none.
            rows = session.execute(
                select(Sweep.id, Job)
                .outerjoin(SweepMember, SweepMember.sweep_id == Sweep.id)
                .outerjoin(Job, Job.id == SweepMember.job_id)
                .where(Sweep.id.in_(sweep_ids))
                .order_by(Sweep.id, SweepMember.position)
            )
            for sweep_id, job in rows:
                members.setdefault(sweep_id, []).extend([job] if job is not None else [])
            for sweep_id, jobs in members.items():
                states["sweep", sweep_id] = sweep_snapshot(sweep_id, jobs)
    return states

"""Admitting a submission, an experiment or a sweep, by one path:

1. every spec against what this server can run: its limits and its data sets (a 422);
2. one transaction under a lock on the API key (jobs/quotas.py): an `Idempotency-Key` replay,
   the key's active jobs and its submissions this minute (a 429), then the rows. Submissions
   sent at once, through any number of API processes, are admitted one after another, and a
   failure half-way stores nothing.

The same idempotency key and body return the experiment made the first time, not a second one;
the same key with another spec is a 422 (as the IETF Idempotency-Key draft asks; the labels
beside the spec are not compared, since they may have been edited since). Keys are
scoped to the API key that sent them, so two clients can never collide.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

from celery import Celery
from fastapi import HTTPException
from kombu.exceptions import OperationalError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import labels, limits, sweeps
from api.errors import invalid
from api.labels import ExperimentIn
from api.sweep_schemas import SweepIn
from gradcore.spec import ExperimentSpec
from gradcore.tasks import needs_dataset
from jobs import quotas, store
from jobs.datasets import available_datasets
from jobs.models import Job, Sweep
from jobs.queue import enqueue
from jobs.settings import Settings

log = logging.getLogger(__name__)


def admit_experiment(
    session: Session,
    settings: Settings,
    body: ExperimentIn,
    owner: str | None,
    idempotency_key: str | None,
) -> tuple[Job, bool]:
    """The job for this submission and whether it is new; raises a 4xx naming a limit."""
    spec = body.spec()
    check_specs([spec], settings)
    with _admitting(session, owner):
        earlier = _replay(session, body, owner, idempotency_key)
        if earlier is not None:
            return earlier, False
        _charge(session, settings, owner, adding=1)
        job = store.add_job(session, spec, owner, idempotency_key)
        labels.apply(job, labels.given(body))
        return job, True


def admit_sweep(
    session: Session, settings: Settings, body: SweepIn, owner: str | None
) -> tuple[Sweep, list[Job]]:
    """The stored sweep and its jobs; raises a 4xx naming a limit, storing nothing."""
    (admitted,) = admit_sweeps(session, settings, [body], owner)
    return admitted


def admit_sweeps(
    session: Session,
    settings: Settings,
    bodies: Sequence[SweepIn],
    owner: str | None,
    record: Callable[[list[Sweep]], None] | None = None,
) -> list[tuple[Sweep, list[Job]]]:
    """Every sweep with its jobs, admitted as one submission in one transaction: all of them
    or none. `record` adds rows that belong with the sweeps (a reproduction run) before the
    commit. Raises a 4xx naming a limit, storing nothing."""
    expanded = [_expand(body, settings) for body in bodies]
    with _admitting(session, owner):
        _charge(session, settings, owner, adding=sum(map(len, expanded)))
        admitted = [
            sweeps.add_sweep(session, body.base, body.grid, body.seeds, combinations, owner)
            for body, combinations in zip(bodies, expanded, strict=True)
        ]
        for body, (sweep, _jobs) in zip(bodies, admitted, strict=True):
            labels.apply(sweep, labels.given(body))
        if record is not None:
            record([sweep for sweep, _jobs in admitted])
        return admitted


def _expand(body: SweepIn, settings: Settings) -> list[sweeps.Combination]:
    """The sweep's checked combinations: within the size limit, each a spec this server runs."""
    if body.size > settings.sweep_max_experiments:
        raise invalid(
            "body",
            "grid",
            f"the sweep expands to {body.size} experiments; at most "
            f"{settings.sweep_max_experiments} (fewer values or seeds)",
            body.grid,
        )
    combinations = sweeps.expand(body.base, body.grid, body.seeds)
    check_specs([combination.spec for combination in combinations], settings)
    return combinations


def check_specs(specs: Iterable[ExperimentSpec], settings: Settings) -> None:
    """A 422 for the first spec this server cannot run: a limit it exceeds (all of them
    named) or a data set the server does not have."""
    have: list[str] | None = None  # listed once, on the first spec that needs a data set
    for spec in specs:
        limits.check_spec(spec, settings)
        if not needs_dataset(spec.task):
            continue
        have = available_datasets(settings.data_dir) if have is None else have
        if spec.dataset not in have:
            listed = ", ".join(have) or "none; an operator adds them under <data dir>/datasets/"
            raise invalid(
                "body",
                "dataset",
                f"dataset {spec.dataset!r} is not on this server; available: {listed} "
                "(GET /v1/meta lists them)",
                spec.dataset,
            )


@contextmanager
def _admitting(session: Session, owner: str | None) -> Iterator[None]:
    """One transaction, under the owner's admission lock: committed when the block ends,
    rolled back when it raises."""
    try:
        quotas.hold(session, owner)
        yield
    except BaseException:
        session.rollback()
        raise
    session.commit()


def _charge(session: Session, settings: Settings, owner: str | None, adding: int) -> None:
    """Count `adding` jobs and one submission against the owner's limits (none while the
    service is open)."""
    if owner is None:
        return
    limits.check_active_jobs(session, owner, settings, adding)
    limits.check_rate(session, owner, settings)


def _replay(
    session: Session, body: ExperimentIn, owner: str | None, idempotency_key: str | None
) -> Job | None:
    if idempotency_key is None:
        return None
    # `Job.owner == None` is `IS NULL`: the keyless service's keys are matched too.
    earlier = session.scalar(
        select(Job).where(Job.owner == owner, Job.idempotency_key == idempotency_key)
    )
    # The spec alone decides: labels may have been edited (PATCH) since the first request.
    if earlier is not None and earlier.spec != body.spec().model_dump(mode="json"):
        raise invalid(
            "header",
            "idempotency-key",
            f"already used for experiment {earlier.id} with a different body; use a new key "
            "for a new experiment",
            idempotency_key,
        )
    return earlier


def enqueue_sweeps(
    session: Session, celery: Celery, queue: str, admitted: list[tuple[Sweep, list[Job]]]
) -> None:
    """Queue every admitted job; when the broker is unreachable, the jobs not yet sent fail
    (they would never run) and the answer is a 503 saying how many were queued."""
    jobs = [job for _sweep, sweep_jobs in admitted for job in sweep_jobs]
    named = ", ".join(sweep.id for sweep, _jobs in admitted)
    for sent, job in enumerate(jobs):
        try:
            enqueue(celery, queue, job.id)
        except OperationalError as exc:
            log.error("could not enqueue sweep %s: %s", named, exc)
            for unsent in jobs[sent:]:
                store.fail_job(session, unsent.id, f"the broker was unreachable ({exc})")
            raise HTTPException(
                503,
                f"the job broker (Redis) is unreachable; {sent} of {len(jobs)} experiments of "
                f"sweep {named} were queued and the rest failed. GET /v1/health shows what "
                "is down.",
            ) from exc

"""Admitting a submission: an `Idempotency-Key` replay, or this server's limits, then the row.

The same key and body return the experiment made the first time, not a second one; the same
key with another body is a 422 (as the IETF Idempotency-Key draft asks). Keys are scoped to
the API key that sent them, so two clients can never collide.
"""

from __future__ import annotations

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api import limits
from api.errors import invalid
from gradcore.spec import ExperimentSpec
from jobs import store
from jobs.models import Job


def admit(
    request: Request,
    session: Session,
    spec: ExperimentSpec,
    owner: str | None,
    idempotency_key: str | None,
) -> tuple[Job, bool]:
    """The job for this submission and whether it is new; raises a 4xx naming a limit."""
    earlier = _replay(session, spec, owner, idempotency_key)
    if earlier is not None:
        return earlier, False
    settings = request.app.state.settings
    limits.check_spec(spec, settings)
    if owner is not None:
        limits.check_active_jobs(session, owner, settings)
        request.app.state.submission_rate.check(owner)
    try:
        return store.create_job(session, spec, owner, idempotency_key), True
    except IntegrityError:
        # The same key, sent twice at once: the other request stored it first.
        session.rollback()
        return _replay(session, spec, owner, idempotency_key), False


def _replay(
    session: Session, spec: ExperimentSpec, owner: str | None, idempotency_key: str | None
) -> Job | None:
    if idempotency_key is None:
        return None
    earlier = session.scalar(
        select(Job).where(Job.owner == owner, Job.idempotency_key == idempotency_key)
    )
    if earlier is not None and earlier.spec != spec.model_dump(mode="json"):
        raise invalid(
            "header",
            "idempotency-key",
            f"already used for experiment {earlier.id} with a different body; use a new key "
            "for a new experiment",
            idempotency_key,
        )
    return earlier

"""GET /v1/health: can the service take and run jobs right now?"""

from __future__ import annotations

from celery import Celery
from fastapi import APIRouter, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from api.deps import CeleryDep, SessionDep, SettingsDep
from api.schemas import Check, HealthOut, WorkerOut
from jobs import store

router = APIRouter(tags=["service"])


def _database(session: Session) -> Check:
    try:
        session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return Check(ok=False, detail=f"unreachable: {exc.__class__.__name__}; check DATABASE_URL")
    return Check(ok=True, detail=session.get_bind().dialect.name)


def _broker(celery: Celery) -> Check:
    try:
        with celery.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # kombu raises transport-specific errors
        return Check(ok=False, detail=f"unreachable: {exc}; check REDIS_URL")
    return Check(ok=True, detail=connection.transport_cls)


@router.get(
    "/health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "degraded: cannot take and run jobs"}},
)
def health(
    session: SessionDep, celery: CeleryDep, settings: SettingsDep, response: Response
) -> HealthOut:
    """200 when the database and the broker answer and a worker beat recently; otherwise 503
    with the same body, for load balancers and healthchecks that read only the status code."""
    database = _database(session)
    workers = store.workers_seen(session, settings.worker_seen_s) if database.ok else []
    broker = _broker(celery)
    ok = database.ok and broker.ok and bool(workers)
    response.status_code = 200 if ok else 503
    return HealthOut(
        status="ok" if ok else "degraded",
        database=database,
        broker=broker,
        workers=[WorkerOut.model_validate(worker, from_attributes=True) for worker in workers],
    )

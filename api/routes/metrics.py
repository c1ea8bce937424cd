"""GET /metrics: the service's state in Prometheus's text format, for operators' dashboards.

It shows every owner's job counts, so it is an operator's, not a user's: with
GRADFLOW_METRICS_TOKEN set it answers that bearer token only; without it, it is open while the
service is (no API key exists) and refused to everyone once keys are in use, user keys
included. The API key check (api/auth.py) leaves this path to this module.
"""

from __future__ import annotations

import hmac
import os

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy.orm import Session

from api.deps import CeleryDep, SessionDep, SettingsDep
from api.process_metrics import PROCESS_METRICS
from api.responses import ErrorOut
from api.service_metrics import ServiceState
from jobs import keys
from jobs.settings import Settings

router = APIRouter(tags=["service"])
OPERATOR_ONLY: dict[int | str, dict] = {
    401: {
        "model": ErrorOut,
        "description": "GRADFLOW_METRICS_TOKEN is set and the request does not carry it.",
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}},
    },
    403: {
        "model": ErrorOut,
        "description": "API keys are in use and GRADFLOW_METRICS_TOKEN is not set.",
    },
}


def _operator_only(request: Request, session: Session, settings: Settings) -> None:
    token = settings.metrics_token
    if token is None:
        if keys.keys_configured(session):
            raise HTTPException(
                403,
                "/metrics shows every owner's jobs, so API keys do not open it: set "
                "GRADFLOW_METRICS_TOKEN on the server and scrape with 'Authorization: Bearer "
                "<that token>'.",
            )
        return
    scheme, _, sent = request.headers.get("authorization", "").partition(" ")
    expected = token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(sent.strip().encode(), expected):
        raise HTTPException(
            401,
            "/metrics needs the operator token: send 'Authorization: Bearer "
            "<GRADFLOW_METRICS_TOKEN>' (API keys do not open it).",
            headers={"WWW-Authenticate": "Bearer"},
        )


def _registry(state: ServiceState) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(state)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)  # every API process's own counts, summed
    else:
        for metric in PROCESS_METRICS:
            registry.register(metric)
    return registry


@router.get("/metrics", response_class=PlainTextResponse, responses=OPERATOR_ONLY)
def metrics(
    request: Request, session: SessionDep, celery: CeleryDep, settings: SettingsDep
) -> Response:
    _operator_only(request, session, settings)
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    body = encode(_registry(ServiceState(session, celery, settings)))
    return Response(body, media_type=content_type)

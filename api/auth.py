"""Bearer authentication and per-key ownership.

With no key configured the service is open, as on a single user's machine. Once a key exists
(`python -m cli keys create`), every request but `GET /v1/health` needs
`Authorization: Bearer <token>` (`GET /metrics` checks its operator token itself), and a key
sees only its own experiments: another key's are a 404, exactly like ids that do not exist, so
ids cannot be probed.

Authentication is ASGI middleware, so it covers every route, including ones added later; the
key's id travels in the request state, where `deps.OwnerDep` reads it.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import not_found
from api.ids import checked_id
from jobs import keys
from jobs.models import Job

# /metrics is not open: it takes the operator's token, not an API key (api/routes/metrics.py).
OPEN_PATHS: frozenset[str] = frozenset({"/v1/health", "/", "/metrics"})
# The dashboard's page and scripts hold no data; they must load before the user can enter a key.
OPEN_PREFIXES: tuple[str, ...] = ("/static/",)
# Path parameters that name an owned row, and the table it is in.
OWNED: dict[str, Any] = {"job_id": Job}


class BearerAuth:
    """Sets `state.owner` to the caller's key id, or None while the service is open."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})["owner"] = None
        if scope["path"] not in OPEN_PATHS and not scope["path"].startswith(OPEN_PREFIXES):
            headers = dict(scope["headers"])
            token = headers.get(b"authorization", b"").decode("latin-1")
            refusal, owner = await run_in_threadpool(_check, scope["app"], token)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
            scope["state"]["owner"] = owner
        await self.app(scope, receive, send)


def _check(app: FastAPI, authorization: str) -> tuple[JSONResponse | None, str | None]:
    with app.state.sessions() as session:
        if not keys.keys_configured(session):
            return None, None
        scheme, _, token = authorization.partition(" ")
        owner = keys.owner_of(session, token.strip()) if scheme.lower() == "bearer" else None
    if owner is not None:
        return None, owner
    why = "missing" if not authorization else "not a valid, unrevoked API key"
    refusal = JSONResponse(
        {
            "detail": f"authentication required: the Authorization header is {why}. Send "
            "'Authorization: Bearer <token>' with a token from `python -m cli keys create`."
        },
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )
    return refusal, None


def owned_rows_only(request: Request) -> None:
    """404 for a path naming a malformed id, or a row another key owns."""
    for param, table in OWNED.items():
        row_id = request.path_params.get(param)
        if row_id is None:
            continue
        # Never handed to the database malformed: some ids (a NUL byte, say) are errors there.
        checked_id("experiment", row_id)
        owner = request.state.owner
        if owner is None:
            continue
        with request.app.state.sessions() as session:
            row = session.get(table, row_id)
            if row is not None and row.owner != owner:
                raise not_found("experiment", row_id)


def install(app: FastAPI) -> None:
    """Call before routers are included: the ownership check joins each route as it is added."""
    app.add_middleware(BearerAuth)
    app.router.dependencies.append(Depends(owned_rows_only))

"""The error responses routes document, from one table: a route lists the statuses it may
answer with (`responses=refusals(404, 409)`), so its OpenAPI entry names every one."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorOut(BaseModel):
    detail: str


def _error(description: str, **extra: Any) -> dict[str, Any]:
    return {"model": ErrorOut, "description": description, **extra}


REFUSALS: dict[int, dict[str, Any]] = {
    400: _error(
        "The body is not JSON (or nests too deep), or the Host header names a host this "
        "service does not answer to (then text/plain; GRADFLOW_ALLOWED_HOSTS adds names).",
        content={"text/plain": {"schema": {"type": "string"}}},
    ),
    401: _error(
        "API keys are configured and the Authorization header holds no valid one.",
        headers={"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}},
    ),
    404: _error("No such id, or one another API key owns; a malformed id names nothing."),
    409: _error(
        "The experiment is not in a state that allows this, or (PATCH) its tags changed "
        "meanwhile; the detail says which."
    ),
    413: _error("The body is larger than GRADFLOW_MAX_BODY_BYTES."),
    429: _error(
        "This API key has too many queued or running experiments, or has submitted too "
        "often in the last minute.",
        headers={"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
    ),
    503: _error("The job broker (Redis) is unreachable; nothing was queued."),
}


def refusals(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented responses for `statuses`, for a route's `responses=`."""
    return {status: REFUSALS[status] for status in statuses}


# What a request body may be refused for, before or past validation, and a submission too.
BODY = (400, 413)
SUBMISSION = (*BODY, 429, 503)

"""Request dependencies, as `Annotated` aliases the routes take as parameters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from celery import Celery
from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from jobs.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def get_celery(request: Request) -> Celery:
    return request.app.state.celery


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
CeleryDep = Annotated[Celery, Depends(get_celery)]


def get_owner(request: Request) -> str | None:
    """The caller's API key id (set by api.auth), or None while the service is open."""
    return request.state.owner


OwnerDep = Annotated[str | None, Depends(get_owner)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Any unique printable ASCII string; a retry with the same key and body "
        "returns the experiment the first request made instead of making a second.",
    ),
]

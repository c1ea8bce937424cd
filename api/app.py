"""The FastAPI application factory: `uvicorn --factory api.app:create_app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.trustedhost import TrustedHostMiddleware

from api import auth, errors, limits
from api.event_hub import EventHub
from api.process_metrics import process_exits
from api.responses import refusals
from api.routes import (
    compare,
    dashboard,
    events,
    experiments,
    exports,
    health,
    meta,
    metrics,
    reproductions,
    sweeps,
)
from api.stream_slots import StreamSlots
from jobs.db import init_db, make_engine
from jobs.exposure import check_exposure
from jobs.queue import make_celery
from jobs.settings import Settings

DESCRIPTION = (
    "Runs gradient-flow experiments on recurrent networks as jobs and reports the gradient "
    "of the loss with respect to every hidden state, dL/dh_t, over training."
)

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        try:
            app.state.settings = settings
            app.state.sessions = init_db(engine)
            with app.state.sessions() as session:
                # Before uvicorn binds its socket, whatever started it.
                check_exposure(settings, session)
            app.state.celery = make_celery(settings)
            app.state.event_hub = EventHub(app.state.sessions, settings.events_poll_interval_s)
            app.state.stream_slots = StreamSlots(settings.max_streams_per_key)
            yield
            await app.state.event_hub.close()
        finally:
            engine.dispose()
            process_exits()

    app = FastAPI(title="Gradflow", version="1", description=DESCRIPTION, lifespan=lifespan)
    errors.install(app)
    # Outermost last: the host check first, then authentication, then the body size limit,
    # then the routes.
    limits.install(app, settings)
    auth.install(app)
    # A request naming another host (a page using DNS rebinding) gets 400 before anything runs.
    app.add_middleware(
        TrustedHostMiddleware,
        allowed_hosts=[*LOOPBACK_NAMES, *settings.allowed_hosts],
        www_redirect=False,
    )
    # Every route may refuse a foreign Host; all but the health check need a key once one exists.
    for module in (experiments, exports, events, sweeps, reproductions, compare, meta):
        app.include_router(module.router, prefix="/v1", responses=refusals(400, 401))
    app.include_router(health.router, prefix="/v1", responses=refusals(400))
    app.include_router(metrics.router, responses=refusals(400, 401))
    dashboard.install(app)
    return app

"""The FastAPI application factory: `uvicorn --factory api.app:create_app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import auth, errors, limits
from api.routes import dashboard, events, experiments, exports, health, meta, metrics, sweeps
from jobs.db import init_db, make_engine
from jobs.queue import make_celery
from jobs.settings import Settings

DESCRIPTION = (
    "Runs gradient-flow experiments on recurrent networks as jobs and reports the gradient "
    "of the loss with respect to every hidden state, dL/dh_t, over training."
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        app.state.settings = settings
        app.state.sessions = init_db(engine)
        app.state.celery = make_celery(settings)
        yield
        engine.dispose()

    app = FastAPI(title="Gradflow", version="1", description=DESCRIPTION, lifespan=lifespan)
    errors.install(app)
    # Outermost last: authentication first, then the body size limit, then the routes.
    limits.install(app, settings)
    auth.install(app)
    for module in (experiments, exports, events, sweeps, health, meta):
        app.include_router(module.router, prefix="/v1")
    app.include_router(metrics.router)
    dashboard.install(app)
    return app

"""The dashboard: static pages served by the API itself, so it works offline (no CDN)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        # One page; the fragment (#/experiments/<id>, #/sweeps/<id>) picks the view.
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

"""This server's limits on what a request may ask for; each refusal names the limit and the
setting that raises it.

- spec size, cost and memory: a 422 on the field at fault (cost: on the body; memory: on the
  field that lowers the largest part of the estimate, the message naming the others);
- request body size: a 413, checked on the declared length and on the bytes as they arrive;
- queued plus running jobs per API key, and submissions per key per minute: a 429, counted in
  the database (jobs/quotas.py) so that every API process sees the same count.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.exceptions import RequestValidationError
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gradcore.estimate import RUN_OVERHEAD_BYTES, MemoryEstimate, estimate_memory, estimate_work
from gradcore.spec import LIMITS, ExperimentSpec
from jobs import quotas
from jobs.settings import Settings

# Spec field -> the setting that bounds it.
SPEC_LIMITS: dict[str, str] = {
    "seq_len": "limit_seq_len",
    "hidden_size": "limit_hidden_size",
    "num_layers": "limit_num_layers",
    "steps": "limit_steps",
    "batch_size": "limit_batch_size",
}
# gradcore's bounds on a field, where they are not just `<field>_max`: num_layers is also the
# depth of the feed-forward cells, bounded apart.
GRADCORE_BOUNDS: dict[str, tuple[str, ...]] = {"num_layers": ("num_layers_max", "mlp_depth_max")}
RATE_WINDOW_S = 60.0
# The part of the memory estimate that sets the peak -> the field that lowers it most, and the
# others that also help.
MEMORY_FIELDS: dict[str, tuple[str, str]] = {
    "step": ("batch_size", "seq_len, hidden_size or num_layers, or set training.checkpoint"),
    "map_probe": ("probes", "batch_size, seq_len or hidden_size"),
    "evaluation": ("seq_len", "hidden_size or num_layers"),
    "resident": ("steps", "probe_every (raise it), hidden_size or num_layers"),
}


def env_name(setting: str) -> str:
    return f"GRADFLOW_{setting.upper()}"


def effective_limits(settings: Settings) -> dict[str, float]:
    """gradcore's bounds (gradcore.spec.LIMITS, keyed `<field>_max`), each lowered to this
    server's setting where one is tighter: the largest values a spec may have here."""
    limits = dict(LIMITS)
    for field, setting in SPEC_LIMITS.items():
        for bound in GRADCORE_BOUNDS.get(field, (f"{field}_max",)):
            limits[bound] = min(limits[bound], getattr(settings, setting))
    return limits


def effective_schema(settings: Settings) -> dict[str, Any]:
    """The spec's JSON Schema with each field this server limits bounded by its setting where
    that is tighter, so a form built from it offers only what the server admits."""
    schema = ExperimentSpec.model_json_schema()
    for field, setting in SPEC_LIMITS.items():
        bounds = schema["properties"][field]
        bounds["maximum"] = min(bounds["maximum"], getattr(settings, setting))
    return schema


def check_spec(spec: ExperimentSpec, settings: Settings) -> None:
    """A 422 listing every limit the spec exceeds."""
    errors = []
    for field, setting in SPEC_LIMITS.items():
        value, limit = getattr(spec, field), getattr(settings, setting)
        if value > limit:
            message = f"{field} {value} is above this server's limit {limit} ({env_name(setting)})"
            errors.append(_error(("body", field), message, value))
    cost = estimate_work(spec)
    if cost > settings.limit_cost:
        message = (
            f"estimated cost {cost:.3g} (multiply-adds in units of batch x hidden_size^2: "
            f"training, probes, Hessian-free's CG and UORO; /v1/meta cost_formula) is above this "
            f"server's limit {settings.limit_cost:.3g} ({env_name('limit_cost')}); ask for fewer "
            "steps, fewer probes or a smaller model"
        )
        errors.append(_error(("body",), message, cost))
    memory = estimate_memory(spec)
    if memory.peak > settings.worker_memory_bytes:
        errors.append(_memory_error(memory, settings.worker_memory_bytes))
    if errors:
        raise RequestValidationError(errors)


def _memory_error(memory: MemoryEstimate, limit: int) -> dict[str, object]:
    # The fixed overhead is in `resident` whatever the spec: compare what the spec sizes.
    phase = memory.largest_phase
    sized = memory.resident - RUN_OVERHEAD_BYTES
    part = phase if getattr(memory, phase) >= sized else "resident"
    field, others = MEMORY_FIELDS[part]
    message = (
        f"estimated peak memory {_gib(memory.peak)} (largest part: {part.replace('_', ' ')}, "
        f"{_gib(getattr(memory, part))}) is above what a run may use on this server, "
        f"{_gib(limit)} ({env_name('worker_memory_bytes')}); lower {field} (or {others})"
    )
    return _error(("body", field), message, memory.peak)


def _gib(size: int) -> str:
    return f"{size / 2**30:.2f} GiB"


def _error(loc: tuple[str, ...], message: str, value: object) -> dict[str, object]:
    return {"type": "limit_exceeded", "loc": loc, "msg": message, "input": value}


def check_active_jobs(session: Session, owner: str, settings: Settings, adding: int) -> None:
    """Refuse `adding` more jobs (a sweep adds all its members) past the per-key limit."""
    active = quotas.active_jobs(session, owner)
    if active + adding > settings.max_active_jobs_per_key:
        asked = "" if adding == 1 else f" and asks for {adding} more"
        raise HTTPException(
            429,
            f"this API key has {active} queued or running experiments{asked}; the limit is "
            f"({env_name('max_active_jobs_per_key')} = {settings.max_active_jobs_per_key}); "
            "submit again when some have finished, or cancel some",
        )


def check_rate(session: Session, owner: str, settings: Settings) -> None:
    """At most `submit_rate_per_minute` submissions per key in any sliding minute, across
    every API process; records this one when it is allowed."""
    now = time.time()
    recent = quotas.submissions_since(session, owner, now - RATE_WINDOW_S)
    if len(recent) >= settings.submit_rate_per_minute:
        retry_after = max(1, int(RATE_WINDOW_S - (now - recent[0])) + 1)
        raise HTTPException(
            429,
            f"rate limit: this API key made {len(recent)} submissions in the last minute, "
            f"the limit ({env_name('submit_rate_per_minute')} = "
            f"{settings.submit_rate_per_minute}); retry in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )
    quotas.record_submission(session, owner, now)


class BodySizeLimit:
    """413 for a request body over `max_bytes`, before the route reads more than that."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refusal()(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                # FastAPI re-raises an HTTPException from reading the body as the response.
                raise HTTPException(413, self._detail())
            return message

        await self.app(scope, counting_receive, send)

    def _detail(self) -> str:
        return (
            f"request body too large: the limit is {self.max_bytes} bytes "
            f"({env_name('max_body_bytes')})"
        )

    def _refusal(self) -> JSONResponse:
        return JSONResponse({"detail": self._detail()}, status_code=413)


def install(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)

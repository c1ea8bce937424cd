"""Error responses that name the field at fault and say what to do."""

from __future__ import annotations

import math
import re
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

# Cross-field checks (e.g. ExperimentSpec's) raise "field.path: why"; pydantic locates those at
# the model itself, so the field is read back from the message.
_FIELD_PREFIX = re.compile(r"^(?:Value error, )?([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*): ")


def not_found(kind: str, ident: str) -> HTTPException:
    return HTTPException(404, f"{kind} {ident} not found; GET /v1/experiments lists the ids")


def _locate(error: dict[str, Any]) -> dict[str, Any]:
    error = dict(error)
    match = _FIELD_PREFIX.match(error.get("msg", ""))
    loc = tuple(error.get("loc", ()))
    if match and len(loc) == 1:
        error["loc"] = (*loc, *match.group(1).split("."))
    if "ctx" in error:
        # A validator's exception object has no JSON form; its message is already in "msg".
        error["ctx"] = {k: v for k, v in error["ctx"].items() if not isinstance(v, Exception)}
    return error


def invalid(location: str, field: str, message: str, value: Any) -> RequestValidationError:
    """A 422 in FastAPI's own shape, for checks that need the server's state."""
    return RequestValidationError(
        [{"type": "value_error", "loc": (location, field), "msg": message, "input": value}]
    )


def _json_safe(value: Any) -> Any:
    """The echoed input of a refused request, made representable in strict UTF-8 JSON: NaN and
    Infinity (which Python's parser accepts) become strings, and so do lone surrogates."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_json_safe(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    return value


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [_locate(error) for error in exc.errors()]
    return JSONResponse(status_code=422, content={"detail": _json_safe(jsonable_encoder(errors))})


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)

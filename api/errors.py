"""Error responses that name the field at fault and say what to do."""

from __future__ import annotations

import math
import re
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from api.field_hints import UNKNOWN_FIELD, unknown_field_message

# Cross-field checks (e.g. ExperimentSpec's, TrainingSpec's) raise "field.path: why", the path
# from the spec's top; pydantic locates those at the model itself, so the field is read back
# from the message.
_FIELD_PREFIX = re.compile(r"^(?:Value error, )?([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*): ")

# Specs convert no types (gradcore.spec_parts.STRICT); a refused type says so.
_STRICT_TYPES = {
    "int_type": 'types are not converted, so neither "50" nor 50.0 is an integer',
    "float_type": 'types are not converted, so "0.5" is not a number (0.5 and 1 are)',
    "bool_type": 'types are not converted, so neither 1 nor "true" is a boolean',
}


def not_found(kind: str, ident: str) -> HTTPException:
    """404 for an id of `kind` ("experiment", "sweep") that names nothing the caller may see."""
    return HTTPException(404, f"{kind} {ident} not found; GET /v1/{kind}s lists the ids")


# A body FastAPI did not parse as JSON reaches the model as a string or bytes.
_NOT_AN_OBJECT = {"model_attributes_type", "dict_type", "model_type"}


def _locate(error: dict[str, Any], request: Request) -> dict[str, Any]:
    error = dict(error)
    match = _FIELD_PREFIX.match(error.get("msg", ""))
    loc = tuple(error.get("loc", ()))
    path = tuple(match.group(1).split(".")) if match else ()
    # Raised by the spec, at ("body",); or by a sub-model, at e.g. ("body", "training"), whose
    # messages' paths start with its own name.
    if path and (len(loc) == 1 or path[: len(loc) - 1] == loc[1:]):
        error["loc"] = (loc[0], *path)
    if error.get("type") in _STRICT_TYPES:
        error["msg"] = f"{error['msg']}: {_STRICT_TYPES[error['type']]}"
    if error.get("type") == UNKNOWN_FIELD and error["loc"][0] == "body":
        error["msg"] = unknown_field_message(_body_model(request), error["loc"][1:])
    if error.get("type") in _NOT_AN_OBJECT and tuple(error["loc"]) == ("body",):
        sent = request.headers.get("content-type")
        if sent is None or not _is_json(sent):
            error["msg"] = (
                "the body was not read as JSON: send it with the header "
                f"Content-Type: application/json (this request's: {sent or 'none'})"
            )
    if "ctx" in error:
        # A validator's exception object has no JSON form; its message is already in "msg".
        error["ctx"] = {k: v for k, v in error["ctx"].items() if not isinstance(v, Exception)}
    return error


def _body_model(request: Request) -> Any:
    """The model of the matched route's body (None when there is none)."""
    body_field = getattr(request.scope.get("route"), "body_field", None)
    return body_field.field_info.annotation if body_field is not None else None


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


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


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [_locate(error, request) for error in exc.errors()]
    return JSONResponse(status_code=422, content={"detail": _json_safe(jsonable_encoder(errors))})


def _documented_methods(request: Request) -> set[str]:
    """Every method the OpenAPI document lists at this path (HEAD with GET). Starlette's 405
    names only the first route whose path matches, while GET and DELETE of one resource are
    two routes."""
    methods: set[str] = set()
    for template, operations in request.app.openapi()["paths"].items():
        if compile_path(template)[0].match(request.url.path):
            methods |= {method.upper() for method in operations}
    return methods | {"HEAD"} if "GET" in methods else methods


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    methods = _documented_methods(request) if exc.status_code == 405 else None
    if methods:  # else an undocumented route (the dashboard's): Starlette's own Allow holds
        exc.headers = {**(exc.headers or {}), "Allow": ", ".join(sorted(methods))}
    return await http_exception_handler(request, exc)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)

"""The ids in paths, one type per kind: a malformed id is a 404 before anything reaches the
database (some strings, a NUL byte say, are errors there rather than misses)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Path

from api.errors import not_found

# Experiments, sweeps and reproduction runs are named by uuid4().hex.
ROW_ID = re.compile(r"[0-9a-f]{32}")
_FORMAT = "32 lowercase hexadecimal digits; any other string names nothing (404)"


def checked_id(kind: str, value: str) -> str:
    """`value`, or a 404 for `kind` when it is not an id's format."""
    if not ROW_ID.fullmatch(value):
        raise not_found(kind, value)
    return value


def _job_id(job_id: Annotated[str, Path(description=f"An experiment's id: {_FORMAT}")]) -> str:
    return checked_id("experiment", job_id)


def _sweep_id(sweep_id: Annotated[str, Path(description=f"A sweep's id: {_FORMAT}")]) -> str:
    return checked_id("sweep", sweep_id)


def _run_id(
    run_id: Annotated[str, Path(description=f"A reproduction run's id: {_FORMAT}")],
) -> str:
    return checked_id("reproduction run", run_id)


JobId = Annotated[str, Depends(_job_id)]
ReproductionRunId = Annotated[str, Depends(_run_id)]
SweepId = Annotated[str, Depends(_sweep_id)]

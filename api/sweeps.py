"""Sweeps: expand a base spec and a grid of dotted-path values into validated experiments.

Every combination is validated before anything is stored, so a bad one refuses the whole sweep
and nothing is queued. Members are ordinary jobs; a sweep row only remembers how they were made.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.errors import invalid
from api.field_hints import UNKNOWN_FIELD, unknown_field_message
from gradcore.spec import ExperimentSpec
from jobs import store
from jobs.models import Job, Sweep, SweepMember

# A bad sweep lists this many bad combinations, enough to see the pattern without a wall of text.
ERRORS_SHOWN = 5


@dataclass(frozen=True)
class Combination:
    values: dict[str, Any]  # {dotted path: value}
    spec: ExperimentSpec


def label(value: Any) -> str:
    """A grid value as text: scalars as themselves, objects as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def describe(values: dict[str, Any]) -> str:
    return ", ".join(f"{path}={label(value)}" for path, value in values.items())


def sweep_size(grid: dict[str, list[Any]], seeds: int) -> int:
    return math.prod(len(values) for values in grid.values()) * seeds


def _set_path(spec: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = spec
    for name in parents:
        child = node.setdefault(name, {})
        if not isinstance(child, dict):
            raise ValueError(f"{path}: {name} is {label(child)}, not an object")
        node = child
    node[leaf] = copy.deepcopy(value)


def expand(base: dict[str, Any], grid: dict[str, list[Any]], seeds: int) -> list[Combination]:
    """One validated spec per grid combination and seed, in grid-product order (first axis
    slowest), seeds innermost. Raises a 422 naming the bad combinations, or the grid values
    that make the same experiment once validated (5 and 5.0, say)."""
    first_seed = base.get("seed", 0)
    combinations: list[Combination] = []
    errors: list[str] = []
    made: dict[str, tuple[int, ...]] = {}  # a validated spec, as JSON -> the point that made it
    for point in itertools.product(*(range(len(values)) for values in grid.values())):
        values = {path: grid[path][index] for path, index in zip(grid, point, strict=True)}
        try:
            specs = [_spec(base, values, first_seed, offset) for offset in range(seeds)]
        except (ValidationError, ValueError) as exc:
            errors.append(f"{describe(values)}: {_problems(exc)}")
            if len(errors) > ERRORS_SHOWN:
                break
            continue
        same = made.setdefault(json.dumps(specs[0].model_dump(mode="json"), sort_keys=True), point)
        if same != point:
            raise _duplicate(grid, same, point)
        combinations.extend(Combination(values, spec) for spec in specs)
    if errors:
        more = " | (and more)" if len(errors) > ERRORS_SHOWN else ""
        raise invalid(
            "body",
            "grid",
            "these combinations are not valid specs, so nothing was queued: "
            + " | ".join(errors[:ERRORS_SHOWN])
            + more,
            grid,
        )
    return combinations


def _duplicate(
    grid: dict[str, list[Any]], first: tuple[int, ...], second: tuple[int, ...]
) -> RequestValidationError:
    """A 422 on the grid axes whose values differ between two points that validate to the
    same spec."""
    differing = [
        (path, values[a], values[b])
        for (path, values), a, b in zip(grid.items(), first, second, strict=True)
        if a != b
    ]
    pairs = "; ".join(f"{path}: {label(a)} and {label(b)}" for path, a, b in differing)
    path, _, value = differing[0]
    return RequestValidationError(
        [
            {
                "type": "value_error",
                "loc": ("body", "grid", path),
                "msg": f"{pairs} make the same experiment once validated, so nothing was "
                "queued; give each value once",
                "input": value,
            }
        ]
    )


def _spec(
    base: dict[str, Any], values: dict[str, Any], first_seed: Any, offset: int
) -> ExperimentSpec:
    spec = copy.deepcopy(base)
    for path, value in values.items():
        _set_path(spec, path, value)
    # Seeds count up from the base's seed; a bad base seed fails validation as it is.
    spec["seed"] = first_seed + offset if isinstance(first_seed, int) else first_seed
    return ExperimentSpec.model_validate(spec)


def _problems(exc: ValidationError | ValueError) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'spec'}: {_message(e)}" for e in exc.errors()
        )
    return str(exc)


def _message(error: Any) -> str:
    if error["type"] == UNKNOWN_FIELD:
        return unknown_field_message(ExperimentSpec, error["loc"])
    return error["msg"]


def add_sweep(
    session: Session,
    base: dict[str, Any],
    grid: dict[str, list[Any]],
    seeds: int,
    combinations: list[Combination],
    owner: str | None = None,
) -> tuple[Sweep, list[Job]]:
    """The sweep and its jobs, part of the session's transaction: the caller commits them all
    together or rolls them all back."""
    jobs = [store.add_job(session, combination.spec, owner) for combination in combinations]
    sweep = Sweep(id=uuid.uuid4().hex, base=base, grid=grid, seeds=seeds, owner=owner)
    session.add(sweep)
    session.flush()  # the job and sweep rows must exist before members reference them
    session.add_all(
        SweepMember(
            job_id=job.id,
            sweep_id=sweep.id,
            position=position,
            values=combination.values,
            seed=combination.spec.seed,
        )
        for position, (job, combination) in enumerate(zip(jobs, combinations, strict=True))
    )
    return sweep, jobs


def members(session: Session, sweep_id: str) -> list[tuple[SweepMember, Job]]:
    """The sweep's experiments in expansion order (deleted ones are gone)."""
    rows = session.execute(
        select(SweepMember, Job)
        .join(Job, Job.id == SweepMember.job_id)
        .where(SweepMember.sweep_id == sweep_id)
        .order_by(SweepMember.position)
        # Status changes are UPDATEs committed elsewhere: re-read rows already in the session.
        .execution_options(populate_existing=True)
    )
    return [(member, job) for member, job in rows]

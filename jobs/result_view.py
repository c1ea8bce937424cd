"""The parts of a result, read off gradcore's result model, and for each trace part the series
a downsampled read keeps the extremes of (jobs/trace_read.py): per probe, `hidden_grad` keeps
its whole curve of T numbers, chosen by the series below.
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from gradcore.result import ExperimentResult, Summary

RESULT_FIELDS: tuple[str, ...] = tuple(ExperimentResult.model_fields)


def _without_none(annotation: Any) -> Any:
    """`X | None` -> X; anything else unchanged."""
    if get_origin(annotation) in (Union, types.UnionType):
        (inner,) = [arg for arg in get_args(annotation) if arg is not type(None)]
        return inner
    return annotation


# The trace parts: every part of the result but the summary, with its model.
TRACE_MODELS: dict[str, type[BaseModel]] = {
    name: _without_none(field.annotation)
    for name, field in ExperimentResult.model_fields.items()
    if _without_none(field.annotation) is not Summary
}


@dataclass(frozen=True)
class Column:
    """One field of a trace part: `depth` nested lists (1: one entry per step or probe; 2: per
    probe and layer; 3: per probe, layer and time step or exponent; 4: per probe, layer and
    eigenvalue, its (re, im) pair) of `leaf` values, `keyed`
    when a dict holds one such list per name (a parameter or weight)."""

    name: str
    depth: int
    leaf: type
    keyed: bool


def _column(name: str, annotation: Any) -> Column | None:
    """The field as a column, or None when it describes the part (time_steps, layers)."""
    annotation = _without_none(annotation)
    keyed = get_origin(annotation) is dict
    if keyed:
        annotation = get_args(annotation)[1]
    depth = 0
    while get_origin(annotation) is list:
        annotation, depth = get_args(annotation)[0], depth + 1
    if depth == 0 or annotation is str:
        return None
    return Column(name, depth, annotation, keyed)


def columns(part: str) -> list[Column]:
    """The fields of trace part `part` that hold one entry per step (or probe), `step` first."""
    fields = TRACE_MODELS[part].model_fields.items()
    return [column for name, field in fields if (column := _column(name, field.annotation))]


# Parts with one entry per training step (flat columns), and the per-probe ones (curves per layer).
STEP_PARTS: tuple[str, ...] = tuple(
    part for part in TRACE_MODELS if all(column.depth == 1 for column in columns(part))
)
PROBE_PARTS: tuple[str, ...] = tuple(part for part in TRACE_MODELS if part not in STEP_PARTS)


def entry_keys() -> dict[str, list[str]]:
    """Per trace part, its fields with one entry per step (per probe for probe parts): what a
    reader of a growing result appends to when more arrives."""
    return {part: [column.name for column in columns(part)] for part in TRACE_MODELS}


Trace = dict[str, Any]


def _hidden_grad_series(trace: Trace) -> list[Sequence[float]]:
    # Per layer: the gradient reaching the first time step (where vanishing shows), the one at
    # the last time step, and the horizon between them.
    series: list[Sequence[float]] = []
    for layer in range(len(trace["layers"])):
        series.append([probe[layer][0] for probe in trace["norm"]])
        series.append([probe[layer][-1] for probe in trace["norm"]])
        series.append([horizon[layer] for horizon in trace["horizon"]])
    return series


def _dynamics_series(trace: Trace) -> list[Sequence[float]]:
    # Per layer: the Jacobian norm from the first time step, the largest Lyapunov exponent and
    # the spectral radius (the largest |eigenvalue|).
    series: list[Sequence[float]] = []
    for layer in range(len(trace["layers"])):
        if trace.get("jacobian_norm") is not None:
            series.append([probe[layer][0] for probe in trace["jacobian_norm"]])
        if trace.get("lyapunov") is not None:
            series.append([probe[layer][0] for probe in trace["lyapunov"]])
        if trace.get("eigenvalues") is not None:
            series.append(
                [max(math.hypot(*pair) for pair in probe[layer]) for probe in trace["eigenvalues"]]
            )
    return series


def _step_series(part: str) -> Callable[[Trace], list[Sequence[float]]]:
    """A per-step part's series: each of its number columns (flags aside), in model order."""
    numbers = [c for c in columns(part) if c.name != "step" and c.leaf is not bool]

    def series(trace: Trace) -> list[Sequence[float]]:
        return [
            values
            for column in numbers
            for values in (trace[column.name].values() if column.keyed else [trace[column.name]])
        ]

    return series


# Probe parts choose a few numbers per curve; a per-step part's series are all its columns.
PROBE_SERIES: dict[str, Callable[[Trace], list[Sequence[float]]]] = {
    "hidden_grad": _hidden_grad_series,
    "dynamics": _dynamics_series,
}
SERIES: dict[str, Callable[[Trace], list[Sequence[float]]]] = {
    part: PROBE_SERIES.get(part) or _step_series(part) for part in TRACE_MODELS
}

"""Cut a stored result document down to what a dashboard asked for: parts, step range, points.

Every per-step trace is a set of columns aligned by its `step` list; a cut keeps the same
indices in every column, so the trace stays aligned. `hidden_grad` is cut by probe: each kept
probe keeps its whole curve of T numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from api.downsample import select_indices, take

RESULT_FIELDS: tuple[str, ...] = (
    "loss",
    "grad_norm",
    "hidden_grad",
    "weight_change",
    "summary",
    "dynamics",
    "hessian_free",
)

Trace = dict[str, Any]


def _loss_series(trace: Trace) -> list[Sequence[float]]:
    return [trace["loss"], trace["metric"]]


def _grad_norm_series(trace: Trace) -> list[Sequence[float]]:
    return [trace["total"], trace["clipped_total"], *trace["per_param"].values()]


def _hidden_grad_series(trace: Trace) -> list[Sequence[float]]:
    # Per layer: the gradient reaching the first time step (where vanishing shows), the one at
    # the last time step, and the horizon between them.
    series: list[Sequence[float]] = []
    for layer in range(len(trace["layers"])):
        series.append([probe[layer][0] for probe in trace["norm"]])
        series.append([probe[layer][-1] for probe in trace["norm"]])
        series.append([horizon[layer] for horizon in trace["horizon"]])
    return series


def _weight_change_series(trace: Trace) -> list[Sequence[float]]:
    return list(trace["per_layer"].values())


def _dynamics_series(trace: Trace) -> list[Sequence[float]]:
    # Per layer: the Jacobian norm from the first time step and the largest Lyapunov exponent.
    series: list[Sequence[float]] = []
    for layer in range(len(trace["layers"])):
        if trace.get("jacobian_norm") is not None:
            series.append([probe[layer][0] for probe in trace["jacobian_norm"]])
        if trace.get("lyapunov") is not None:
            series.append([probe[layer][0] for probe in trace["lyapunov"]])
    return series


def _hessian_free_series(trace: Trace) -> list[Sequence[float]]:
    return [trace["cg_iterations"], trace["damping"], trace["reduction_ratio"]]


SERIES: dict[str, Callable[[Trace], list[Sequence[float]]]] = {
    "loss": _loss_series,
    "grad_norm": _grad_norm_series,
    "hidden_grad": _hidden_grad_series,
    "weight_change": _weight_change_series,
    "dynamics": _dynamics_series,
    "hessian_free": _hessian_free_series,
}
# Columns that are not aligned with `step` and are kept whole.
WHOLE: frozenset[str] = frozenset({"time_steps", "layers"})


def view_result(
    document: dict[str, Any],
    fields: Sequence[str] = RESULT_FIELDS,
    step_from: int | None = None,
    step_to: int | None = None,
    max_points: int | None = None,
) -> dict[str, Any]:
    view: dict[str, Any] = {}
    for name in fields:
        # Optional parts are null when the run did not record them (and absent from results
        # stored before they existed).
        part = document.get(name)
        if part is not None and name in SERIES:
            part = _cut(part, _in_range(part["step"], step_from, step_to))
            if max_points is not None:
                length = len(part["step"])
                part = _cut(part, select_indices(SERIES[name](part), length, max_points))
        view[name] = part
    return view


def _in_range(steps: Sequence[int], step_from: int | None, step_to: int | None) -> list[int]:
    low = step_from if step_from is not None else -1
    high = step_to if step_to is not None else float("inf")
    return [i for i, step in enumerate(steps) if low <= step <= high]


def _cut(trace: Trace, indices: list[int]) -> Trace:
    if len(indices) == len(trace["step"]):
        return trace
    return {key: _cut_column(key, column, indices) for key, column in trace.items()}


def _cut_column(key: str, column: Any, indices: list[int]) -> Any:
    if key in WHOLE or column is None:
        return column
    if isinstance(column, dict):
        return {name: take(values, indices) for name, values in column.items()}
    return take(column, indices)

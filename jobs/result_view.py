"""The parts of a result, and for each trace part the series a downsampled read keeps the
extremes of (jobs/trace_read.py): per probe, `hidden_grad` keeps its whole curve of T numbers,
chosen by the series below.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

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

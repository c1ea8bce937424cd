"""Trace slices for tests: a result's traces cut by step and joined again, the reference read
of a whole result document, and a long run made of random walks."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

from jobs.downsample import select_indices
from jobs.result_view import RESULT_FIELDS, SERIES

# Keys of a trace part that are not aligned with its steps.
WHOLE = ("time_steps", "layers")


def traces_of(document: dict[str, Any]) -> dict[str, Any]:
    """A result document without its summary: the shape of a slice."""
    return {key: value for key, value in document.items() if key != "summary"}


def slice_between(traces: dict[str, Any], low: int, high: int) -> dict[str, Any]:
    """The entries of every part with low <= step < high, as a worker would send them."""
    return {
        name: None
        if part is None
        else _cut(part, [i for i, step in enumerate(part["step"]) if low <= step < high])
        for name, part in traces.items()
    }


def concat(slices: list[dict[str, Any]]) -> dict[str, Any]:
    """Slices joined in order, as stored or followed (the inputs are left as they are)."""
    whole = copy.deepcopy(slices[0])
    for later in slices[1:]:
        for name, part in later.items():
            if part is None:
                continue
            if whole.get(name) is None:
                whole[name] = copy.deepcopy(part)
                continue
            for key, value in part.items():
                if key in WHOLE or value is None:
                    continue
                if isinstance(value, dict):
                    for column, values in value.items():
                        whole[name][key][column] += values
                else:
                    whole[name][key] += value
    return whole


def view_result(
    document: dict[str, Any],
    fields: Sequence[str] = RESULT_FIELDS,
    step_from: int | None = None,
    step_to: int | None = None,
    max_points: int | None = None,
) -> dict[str, Any]:
    """The reference read: a whole result document cut to `fields`, the step range and
    `max_points` (min-max bucketing over each part's SERIES), as the service answered when it
    stored each result as one document. jobs.trace_read must read the same from stored traces."""
    view: dict[str, Any] = {}
    for name in fields:
        # Optional parts are null when the run did not record them (and absent from results
        # stored before they existed).
        part = document.get(name)
        if part is not None and name in SERIES:
            low = step_from if step_from is not None else -1
            high = step_to if step_to is not None else float("inf")
            part = _cut(part, [i for i, step in enumerate(part["step"]) if low <= step <= high])
            if max_points is not None:
                length = len(part["step"])
                part = _cut(part, select_indices(SERIES[name](part), length, max_points))
        view[name] = part
    return view


def _cut(part: dict[str, Any], indices: list[int]) -> dict[str, Any]:
    """Every step-aligned column of `part` at `indices`; the others whole."""
    if len(indices) == len(part["step"]):
        return part
    cut: dict[str, Any] = {}
    for key, value in part.items():
        if key in WHOLE or value is None:
            cut[key] = value
        elif isinstance(value, dict):
            cut[key] = {name: [column[i] for i in indices] for name, column in value.items()}
        else:
            cut[key] = [value[i] for i in indices]
    return cut


def long_run(template: dict[str, Any], steps: int, probe_every: int, seed: int = 0) -> dict:
    """Traces shaped like `template`'s (same parts, parameters and layers) for `steps` steps:
    random walks, with spikes, so downsampling has extremes to keep."""
    rng = np.random.default_rng(seed)

    def walk(count: int) -> list[float]:
        values = np.cumsum(rng.normal(size=count)) + rng.standard_cauchy(count) * 0.01
        return values.tolist()

    step = list(range(steps))
    probes = sorted({*range(0, steps, probe_every), steps - 1})
    hidden = template["hidden_grad"]
    layers, time_steps = len(hidden["layers"]), hidden["time_steps"]
    return {
        "loss": {"step": step, "loss": walk(steps), "metric": walk(steps)},
        "grad_norm": {
            "step": step,
            "total": walk(steps),
            "clipped_total": walk(steps),
            "clipped": (rng.random(steps) < 0.3).tolist(),
            "per_param": {name: walk(steps) for name in template["grad_norm"]["per_param"]},
        },
        "weight_change": {
            "step": step,
            "per_layer": {name: walk(steps) for name in template["weight_change"]["per_layer"]},
        },
        "hidden_grad": {
            "step": probes,
            "time_steps": time_steps,
            "layers": hidden["layers"],
            "norm": rng.random((len(probes), layers, time_steps)).tolist(),
            "horizon": rng.integers(0, time_steps, (len(probes), layers)).tolist(),
            "recall_horizon": rng.integers(0, time_steps, (len(probes), layers)).tolist(),
        },
        "dynamics": None,
        "hessian_free": None,
    }

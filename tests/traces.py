"""Trace slices for tests: cut a result's traces by step, and a long run made of random walks."""

from __future__ import annotations

from typing import Any

import numpy as np

# Keys of a trace part that are not aligned with its steps.
WHOLE = ("time_steps", "layers")


def traces_of(document: dict[str, Any]) -> dict[str, Any]:
    """A result document without its summary: the shape of a slice."""
    return {key: value for key, value in document.items() if key != "summary"}


def slice_between(traces: dict[str, Any], low: int, high: int) -> dict[str, Any]:
    """The entries of every part with low <= step < high, as a worker would send them."""
    return {name: _cut(part, low, high) for name, part in traces.items()}


def _cut(part: dict[str, Any] | None, low: int, high: int) -> dict[str, Any] | None:
    if part is None:
        return None
    keep = [index for index, step in enumerate(part["step"]) if low <= step < high]
    cut: dict[str, Any] = {}
    for key, value in part.items():
        if key in WHOLE or value is None:
            cut[key] = value
        elif isinstance(value, dict):
            cut[key] = {name: [column[i] for i in keep] for name, column in value.items()}
        else:
            cut[key] = [value[i] for i in keep]
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
        },
        "dynamics": None,
        "hessian_free": None,
    }

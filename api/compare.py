"""A sweep's finished experiments as aligned series, seeds aggregated as mean and spread.

Scalar metrics come out as one series per combination of the other grid axes, with a point per
value of the chosen `x` axis; the hidden-gradient metric as one curve of log10 |dL/dh_t| over
time steps per grid combination. Seeds of one combination are averaged; spread is their sample
standard deviation (0 for a single seed), and min and max are given beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from api.sweep_schemas import last_horizon
from api.sweeps import describe, label
from gradcore.result import Summary
from jobs.models import Job, SweepMember

# Norms that underflowed to 0.0 are drawn at float32's smallest normal instead of -inf.
LOG_FLOOR = float(np.finfo(np.float32).tiny)


def _summary_field(name: str) -> Callable[[dict[str, Any]], float | None]:
    return lambda summary: summary.get(name)


# Every number of the summary (its float fields, read off gradcore's model), and the horizon.
SCALAR_METRICS: dict[str, Callable[[dict[str, Any]], float | None]] = {
    **{
        name: _summary_field(name)
        for name, field in Summary.model_fields.items()
        if field.annotation in (float, float | None)
    },
    "horizon": last_horizon,
}
CURVE_METRICS: tuple[str, ...] = ("hidden_grad",)
METRICS: tuple[str, ...] = (*SCALAR_METRICS, *CURVE_METRICS)


class Spread(BaseModel):
    mean: float | None
    std: float | None
    min: float | None
    max: float | None
    n: int = Field(description="finished experiments (seeds) aggregated")


class Series(BaseModel):
    label: str
    values: dict[str, Any] = Field(description="the other axes' values this series holds")
    points: list[Spread] = Field(description="one per x value")
    experiments: list[list[str]] = Field(description="ids behind each point")


class Curve(BaseModel):
    label: str
    values: dict[str, Any]
    experiments: list[str]
    probe_step: list[int] = Field(description="the training step of each seed's curve")
    n: int
    mean_log10: list[float] = Field(description="mean over seeds of log10 |dL/dh_t|, t = 1..T")
    std_log10: list[float]


class Comparison(BaseModel):
    metric: str
    x: str | None = Field(description="the grid axis across (scalar metrics)")
    x_values: list[Any] = []
    x_labels: list[str] = []
    series: list[Series] = []
    curves: list[Curve] = []
    baseline_loss: float | None = Field(
        None, description="the task's memoryless baseline, when all experiments share it"
    )


def _spread(samples: list[float]) -> Spread:
    if not samples:
        return Spread(mean=None, std=None, min=None, max=None, n=0)
    array = np.asarray(samples, dtype=np.float64)
    std = float(array.std(ddof=1)) if array.size > 1 else 0.0
    return Spread(
        mean=float(array.mean()), std=std, min=float(array.min()), max=float(array.max()),
        n=int(array.size),
    )  # fmt: skip


def _finished(rows: list[tuple[SweepMember, Job]]) -> list[tuple[SweepMember, Job]]:
    return [(member, job) for member, job in rows if job.summary is not None]


def _baseline(rows: list[tuple[SweepMember, Job]]) -> float | None:
    baselines = {job.summary["baseline_loss"] for _, job in _finished(rows)}
    return baselines.pop() if len(baselines) == 1 else None


def compare_scalar(
    grid: dict[str, list[Any]], rows: list[tuple[SweepMember, Job]], metric: str, x: str
) -> Comparison:
    read = SCALAR_METRICS[metric]
    others = [axis for axis in grid if axis != x]
    keys: dict[str, dict[str, Any]] = {}  # series label -> its values, in expansion order
    samples: dict[tuple[str, str], list[tuple[float, str]]] = {}
    for member, job in rows:
        values = {axis: member.values[axis] for axis in others}
        name = describe(values) or metric
        keys.setdefault(name, values)
        value = read(job.summary) if job.summary else None
        if value is not None:
            cell = samples.setdefault((name, label(member.values[x])), [])
            cell.append((float(value), job.id))
    x_labels = [label(value) for value in grid[x]]
    series = []
    for name, values in keys.items():
        cells = [samples.get((name, x_label), []) for x_label in x_labels]
        series.append(
            Series(
                label=name,
                values=values,
                points=[_spread([value for value, _ in cell]) for cell in cells],
                experiments=[[job_id for _, job_id in cell] for cell in cells],
            )
        )
    return Comparison(
        metric=metric,
        x=x,
        x_values=grid[x],
        x_labels=x_labels,
        series=series,
        baseline_loss=_baseline(rows) if "loss" in metric else None,
    )


def compare_curves(
    rows: list[tuple[SweepMember, Job]], last_curve: Callable[[Job], tuple[int, list[float]] | None]
) -> Comparison:
    """The first layer's |dL/dh_t| at each experiment's last probe, averaged in log10 over
    seeds. `last_curve` gives an experiment's last probe step and that curve."""
    groups: dict[str, tuple[dict[str, Any], list[str], list[int], list[list[float]]]] = {}
    for member, job in _finished(rows):
        probe = last_curve(job)
        if probe is None:
            continue
        values, ids, steps, curves = groups.setdefault(
            describe(member.values), (member.values, [], [], [])
        )
        ids.append(job.id)
        steps.append(probe[0])
        curves.append(probe[1])
    result = []
    for name, (values, ids, steps, curves) in groups.items():
        logs = np.log10(np.maximum(np.asarray(curves, dtype=np.float64), LOG_FLOOR))
        result.append(
            Curve(
                label=name,
                values=values,
                experiments=ids,
                probe_step=steps,
                n=len(ids),
                mean_log10=logs.mean(axis=0).tolist(),
                std_log10=(logs.std(axis=0, ddof=1) if len(ids) > 1 else 0 * logs[0]).tolist(),
            )
        )
    return Comparison(metric="hidden_grad", x=None, curves=result)

"""Any experiments side by side (GET /v1/compare): their spec differences, and their traces
aligned and downsampled for one chart per quantity.

|dL/dh_t| is the top layer's (the one the loss reads; the only one of a one-layer net) at one
probe per run, aligned two ways: by time step t = 1..T, and by distance from the sequence's end
t - T, where runs of different lengths meet at the last step. The loss, the pre-clip gradient
norm and the horizon over training are each run's own series, cut to `max_points` by the
results' downsampling. Every read is bounded by the stored trace layout, not the run's length.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.sweeps import describe
from jobs.models import Job
from jobs.statuses import ACTIVE_STATUSES, JobStatus
from jobs.trace_probes import choose_probes, probe_curves, probe_rows
from jobs.trace_read import Stored, read_steps

Probe = Literal["last"] | int


class ComparedRun(BaseModel):
    id: str
    label: str = Field(
        description="its name, else its differing spec fields (cell=lstm, init.scheme=...), "
        "else its id's first 8 digits"
    )
    name: str | None
    status: JobStatus
    seq_len: int
    partial: bool = Field(description="the run is still going: its series may grow")
    differing: dict[str, Any] = Field(description="its value of each of differing_fields")


class ProbeUsed(BaseModel):
    requested: Probe
    steps: list[int | None] = Field(
        description="per run, the training step of the probe used (the last, or the one "
        "nearest the requested step); null for a run with no probe stored"
    )


class Aligned(BaseModel):
    x: list[int]
    values: list[list[float | None]] = Field(
        description="per run, a value per x; null where the run has no such time step"
    )


class HiddenGradCompared(BaseModel):
    """The top layer's |dL/dh_t| at each run's probe."""

    by_t: Aligned = Field(description="x: the time step t, 1 .. the longest T")
    by_distance: Aligned = Field(
        description="x: t - T, from -(longest T - 1) to 0 (the last time step)"
    )


class Series(BaseModel):
    step: list[int]
    value: list[float]


class IntSeries(BaseModel):
    step: list[int]
    value: list[int]


class RunComparison(BaseModel):
    runs: list[ComparedRun] = Field(description="in the order of `ids`")
    differing_fields: list[str] = Field(
        description="dotted spec paths whose values differ across the runs"
    )
    probe: ProbeUsed
    hidden_grad: HiddenGradCompared
    loss: list[Series] = Field(description="per run, the training loss")
    grad_norm: list[Series] = Field(description="per run, the total gradient norm before clipping")
    horizon: list[IntSeries] = Field(
        description="per run, the top layer's gradient horizon at each probe"
    )


def flatten(spec: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{dotted path: value} of a spec's leaves (lists are leaves)."""
    flat: dict[str, Any] = {}
    for key, value in spec.items():
        if isinstance(value, dict):
            flat |= flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def differing_fields(specs: list[dict[str, Any]]) -> list[str]:
    """Paths whose values are not the same in every spec (absent counts as null)."""
    flats = [flatten(spec) for spec in specs]
    paths = list(dict.fromkeys(path for flat in flats for path in flat))
    return [path for path in paths if len({repr(flat.get(path)) for flat in flats}) > 1]


def _aligned(curves: list[np.ndarray | None], by_distance: bool) -> Aligned:
    longest = max((len(curve) for curve in curves if curve is not None), default=0)
    x = list(range(1 - longest, 1)) if by_distance else list(range(1, longest + 1))
    values = []
    for curve in curves:
        length = 0 if curve is None else len(curve)
        # Index of each x in this run's curve: t - 1, or T - 1 + (t - T).
        indices = [length - 1 + point if by_distance else point - 1 for point in x]
        values.append([float(curve[i]) if 0 <= i < length else None for i in indices])
    return Aligned(x=x, values=values)


def _step_series(
    session: Session, stored: Stored, part: str, column: str, max_points: int
) -> Series:
    low, high = stored.step_range(None, None)
    if stored.meta is None or stored.meta[part] is None or high < low:
        return Series(step=[], value=[])
    read = read_steps(session, stored, part, low, high, max_points)
    return Series(step=read["step"], value=read[column])


def _horizons(session: Session, stored: Stored, max_points: int) -> IntSeries:
    low, high = stored.step_range(None, None)
    if stored.probes == 0 or stored.meta is None or stored.meta["hidden_grad"] is None:
        return IntSeries(step=[], value=[])
    positions = choose_probes(session, stored, "hidden_grad", low, high, max_points)
    rows = list(probe_rows(session, stored, positions, "horizon"))
    # Each row's horizon is int64 (layers,): the top layer's is the last.
    return IntSeries(
        step=[row.step for row in rows],
        value=[int(np.frombuffer(row.horizon, "<i8")[-1]) for row in rows],
    )


def compare_runs(session: Session, jobs: list[Job], probe: Probe, max_points: int) -> RunComparison:
    """The comparison of `jobs` (2 or more), in their order."""
    fields = differing_fields([job.spec for job in jobs])
    runs, curves, steps = [], [], []
    loss, grad_norm, horizon = [], [], []
    for job in jobs:
        stored = Stored.of(job)
        flat = flatten(job.spec)
        differing = {path: flat.get(path) for path in fields}
        runs.append(
            ComparedRun(
                id=job.id,
                label=job.name or describe(differing) or job.id[:8],
                name=job.name,
                status=job.status,
                seq_len=job.spec["seq_len"],
                partial=job.status in ACTIVE_STATUSES,
                differing=differing,
            )
        )
        used = probe_curves(session, stored, None if probe == "last" else probe)
        steps.append(None if used is None else used[0])
        curves.append(None if used is None else used[1][-1])
        loss.append(_step_series(session, stored, "loss", "loss", max_points))
        grad_norm.append(_step_series(session, stored, "grad_norm", "total", max_points))
        horizon.append(_horizons(session, stored, max_points))
    return RunComparison(
        runs=runs,
        differing_fields=fields,
        probe=ProbeUsed(requested=probe, steps=steps),
        hidden_grad=HiddenGradCompared(
            by_t=_aligned(curves, by_distance=False), by_distance=_aligned(curves, by_distance=True)
        ),
        loss=loss,
        grad_norm=grad_norm,
        horizon=horizon,
    )

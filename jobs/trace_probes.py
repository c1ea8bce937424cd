"""Read stored probes (hidden_grad and dynamics, one row each): choose them by their small
series column, then read only the chosen ones' curves, a few hundred at a time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.downsample import select_indices
from jobs.models import TraceProbe
from jobs.result_view import PROBE_PARTS
from jobs.result_view import columns as result_columns

if TYPE_CHECKING:
    from jobs.trace_read import Stored


def choose_probes(
    session: Session,
    stored: Stored,
    name: str,
    low: int,
    high: int,
    max_points: int | None = None,
) -> list[int]:
    """Positions of the probes in low..high, downsampled by their series to max_points."""
    in_range = [
        TraceProbe.job_id == stored.job_id,
        TraceProbe.position < stored.probes,
        TraceProbe.step.between(low, high),
    ]
    if max_points is None:
        query = select(TraceProbe.position).where(*in_range).order_by(TraceProbe.position)
        return list(session.scalars(query))
    rows = session.execute(
        select(TraceProbe.position, TraceProbe.series)
        .where(*in_range)
        .order_by(TraceProbe.position)
    ).all()
    if len(rows) <= max_points:
        return [row.position for row in rows]
    table = np.frombuffer(b"".join(row.series for row in rows), "<f8").reshape(len(rows), -1)
    hidden = 3 * len(stored.meta["hidden_grad"]["layers"])
    columns = table[:, :hidden] if name == "hidden_grad" else table[:, hidden:]
    kept = select_indices(list(columns.T), len(rows), max_points)
    return [rows[index].position for index in kept]


def read_probes(
    session: Session, stored: Stored, name: str, positions: list[int]
) -> dict[str, Any]:
    meta = stored.meta[name]
    keys = PROBE_COLUMNS[name]
    rows = list(probe_rows(session, stored, positions, *keys))
    part = {"step": [row.step for row in rows]}
    if name == "hidden_grad":
        part |= {"time_steps": meta["time_steps"], "layers": meta["layers"]}
    else:
        part["layers"] = meta["layers"]
    layers = len(meta["layers"])
    for key in keys:
        if not recorded(name, meta, key):
            part[key] = None
        elif rows:
            # One decode for all the probes: (probes, layers) horizons, (probes, layers, k)
            # curves, (probes, layers, K, 2) eigenvalues.
            joined = b"".join(getattr(row, key) for row in rows)
            dtype = "<i8" if key in HORIZONS else "<f8"
            part[key] = np.frombuffer(joined, dtype).reshape(len(rows), *_shape(key, layers))
            part[key] = part[key].tolist()
        else:
            part[key] = []
    return part


# The per-layer integer columns; the others are curves of floats.
HORIZONS = ("horizon", "recall_horizon")


def recorded(name: str, meta: dict[str, Any], key: str) -> bool:
    """Whether the run records this optional column (dynamics' measures, the recall
    horizon; meta written before the recall horizon existed does not name it)."""
    if name == "dynamics":
        return bool(meta.get(key))  # meta written before a measure existed does not name it
    return key != "recall_horizon" or bool(meta.get("recall"))


# Per probe part, its stored columns: every column of the model but `step`.
PROBE_COLUMNS: dict[str, tuple[str, ...]] = {
    part: tuple(column.name for column in result_columns(part) if column.name != "step")
    for part in PROBE_PARTS
}


def probe_rows(session: Session, stored: Stored, positions: list[int], *keys: str) -> Iterator[Any]:
    """(step, *keys) of these probes, in order, a few at a time."""
    columns = [getattr(TraceProbe, key) for key in keys]
    for start in range(0, len(positions), 256):  # bounded IN lists
        chosen = positions[start : start + 256]
        yield from session.execute(
            select(TraceProbe.step, *columns)
            .where(TraceProbe.job_id == stored.job_id, TraceProbe.position.in_(chosen))
            .order_by(TraceProbe.position)
        )


def _shape(key: str, layers: int) -> tuple[int, ...]:
    """One probe's stored column as in the result (see jobs.models.TraceProbe)."""
    if key in HORIZONS:
        return (layers,)
    return (layers, -1, 2) if key == "eigenvalues" else (layers, -1)


def probe_value(key: str, data: bytes | None, layers: int) -> Any:
    """A stored probe column as in the result: horizon a list of ints, curves (layers, k),
    eigenvalues (layers, K, 2)."""
    if data is None:
        return None
    dtype = "<i8" if key in HORIZONS else "<f8"
    return np.frombuffer(data, dtype).reshape(_shape(key, layers)).tolist()


def probe_curves(
    session: Session, stored: Stored, step: int | None = None
) -> tuple[int, np.ndarray] | None:
    """The step and |dL/dh_t| curves, (layers, T) float64, of the last stored probe (`step`
    None) or of the stored probe nearest `step` (the earlier of two as near); None before
    the first probe. Two indexed lookups, whatever the run's length."""
    if stored.probes == 0 or stored.meta is None or stored.meta["hidden_grad"] is None:
        return None
    position = stored.probes - 1
    if step is not None:
        mine = select(TraceProbe.position, TraceProbe.step).where(
            TraceProbe.job_id == stored.job_id, TraceProbe.position < stored.probes
        )
        below = mine.where(TraceProbe.step <= step).order_by(TraceProbe.step.desc())
        above = mine.where(TraceProbe.step > step).order_by(TraceProbe.step)
        near = [row for query in (below, above) if (row := session.execute(query.limit(1)).first())]
        position = min(near, key=lambda row: (abs(row.step - step), row.step)).position
    (row,) = probe_rows(session, stored, [position], "norm")
    layers = len(stored.meta["hidden_grad"]["layers"])
    return row.step, np.frombuffer(row.norm, "<f8").reshape(layers, -1)

"""How stored traces are laid out: which columns a part has, and their binary encoding.

Per-step parts (loss, grad_norm, weight_change, hessian_free) are stored in blocks of
`BLOCK_STEPS` training steps. A block is a row-major float64 little-endian matrix, one row per
step and one column per quantity, `step` first (integers and booleans are exact in float64;
they get their types back when read). Row-major, so reading many blocks is one decode each and
one concatenation. Beside the full block, each block keeps a *thin* copy in the same layout:
the rows holding some series' minimum or maximum within each run of `THIN_STRIDE` rows, plus
the block's first and last row. A downsampled read over many blocks reads only thin copies:
min-max bucketing over them keeps the range's first and last rows and every series' extremes,
and each stride's extremes stand for the stride.

Probe parts (hidden_grad, dynamics) are stored one row per probe.

The run's `meta` (JSON, on the job row) says which parts exist and their column names; it is
taken from the run's first slice.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from jobs.downsample import bucket_extremes
from jobs.result_view import SERIES, STEP_PARTS, TRACE_MODELS
from jobs.result_view import columns as result_columns

BLOCK_STEPS = 1024
THIN_STRIDE = 128
TRACE_PARTS: tuple[str, ...] = tuple(TRACE_MODELS)
JSON_TYPES: dict[str, type] = {"i8": np.int64, "u1": bool}
# Step parts' columns stored as integers and as flags; the rest as float64.
INT_COLUMNS = frozenset(c.name for p in STEP_PARTS for c in result_columns(p) if c.leaf is int)
BOOL_COLUMNS = frozenset(c.name for p in STEP_PARTS for c in result_columns(p) if c.leaf is bool)

# A column: [key in the part, name inside a mapping column (per_param, per_layer) or None, the
# type it is served as: "f8", "i8" or "u1" (bool)]
Column = tuple[str, str | None, str]
Arrays = dict[str, Any]  # a part shaped as in the result, with numpy arrays for lists


def describe(slice_: dict[str, Any]) -> dict[str, Any]:
    """The meta of a run, from any of its slices (the first one stored)."""
    meta: dict[str, Any] = {}
    for name in STEP_PARTS:
        part = slice_.get(name)
        meta[name] = None if part is None else {"columns": _columns_of(part)}
    hidden = slice_["hidden_grad"]
    meta["hidden_grad"] = {
        "time_steps": hidden["time_steps"],
        "layers": hidden["layers"],
        "recall": hidden.get("recall_horizon") is not None,  # absent from older runs' meta
    }
    dynamics = slice_.get("dynamics")
    meta["dynamics"] = None
    if dynamics is not None:
        meta["dynamics"] = {
            "layers": dynamics["layers"],
            "jacobian_norm": dynamics.get("jacobian_norm") is not None,
            "lyapunov": dynamics.get("lyapunov") is not None,
            "eigenvalues": dynamics.get("eigenvalues") is not None,
        }
    return meta


def _columns_of(part: dict[str, Any]) -> list[Column]:
    columns: list[Column] = [("step", None, "i8")]
    for key, value in part.items():
        if isinstance(value, dict):
            columns.extend((key, name, "f8") for name in value)
        elif key != "step":
            dtype = "i8" if key in INT_COLUMNS else "u1" if key in BOOL_COLUMNS else "f8"
            columns.append((key, None, dtype))
    return columns


def columns(meta_part: dict[str, Any]) -> list[Column]:
    return [tuple(column) for column in meta_part["columns"]]


def to_rows(part: dict[str, Any], layout: list[Column]) -> np.ndarray:
    """A slice's part as a (steps, columns) float64 matrix; ValueError if it does not fit."""
    length = len(part["step"])
    matrix = np.empty((length, len(layout)), dtype="<f8")
    for index, (key, name, _dtype) in enumerate(layout):
        try:
            values = part[key] if name is None else part[key][name]
        except KeyError as exc:
            raise ValueError(f"{key}: no {exc} column, which the run's first slice had") from exc
        if len(values) != length:
            raise ValueError(f"{key}: {len(values)} values for {length} steps")
        matrix[:, index] = values
    return matrix


def encode(rows: np.ndarray) -> bytes:
    return np.ascontiguousarray(rows, dtype="<f8").tobytes()


def decode(data: bytes, count: int, layout: list[Column]) -> np.ndarray:
    return np.frombuffer(data, "<f8").reshape(count, len(layout))


def concat(pieces: list[np.ndarray], layout: list[Column]) -> np.ndarray:
    return np.concatenate(pieces) if pieces else np.empty((0, len(layout)))


def arrays(rows: np.ndarray, layout: list[Column]) -> Arrays:
    """The columns as the result nests them (per_param: {name: column}), as views."""
    nested: Arrays = {}
    for index, (key, name, _dtype) in enumerate(layout):
        if name is None:
            nested[key] = rows[:, index]
        else:
            nested.setdefault(key, {})[name] = rows[:, index]
    return nested


def thin_indices(part_name: str, rows: np.ndarray, layout: list[Column]) -> np.ndarray:
    """Rows to keep so that every stride of THIN_STRIDE rows keeps its series' extremes."""
    length = rows.shape[0]
    if length <= 2:
        return np.arange(length)
    buckets = math.ceil((length - 2) / THIN_STRIDE)
    series = SERIES[part_name](arrays(rows, layout))
    return np.asarray(bucket_extremes(series, length, buckets))


def to_json(rows: np.ndarray, layout: list[Column]) -> dict[str, Any]:
    """Rows back to the result's JSON form (bools as bools, ints as ints)."""
    part: dict[str, Any] = {}
    for index, (key, name, dtype) in enumerate(layout):
        column = rows[:, index]
        values = column.tolist() if dtype == "f8" else column.astype(JSON_TYPES[dtype]).tolist()
        if name is None:
            part[key] = values
        else:
            part.setdefault(key, {})[name] = values
    return part


def probe_series(hidden_norm: np.ndarray, horizon: np.ndarray, dynamics: dict[str, Any]) -> bytes:
    """The small per-probe numbers downsampling chooses probes by (see result_view.SERIES):
    per layer the first and last |dL/dh_t| and the horizon, then per layer the dynamics'
    first Jacobian norm, first Lyapunov exponent and largest |eigenvalue| where recorded.
    hidden_norm: (L, T)."""
    values = [
        np.stack([hidden_norm[:, 0], hidden_norm[:, -1], horizon.astype(np.float64)], 1).ravel()
    ]
    for key in ("jacobian_norm", "lyapunov"):
        if dynamics.get(key) is not None:
            values.append(np.asarray(dynamics[key], dtype=np.float64)[:, 0])
    if dynamics.get("eigenvalues") is not None:
        pairs = np.asarray(dynamics["eigenvalues"], dtype=np.float64)  # (L, K, 2)
        values.append(np.hypot(pairs[..., 0], pairs[..., 1]).max(axis=1))
    if len(values) > 1:
        # Layer-major, as _dynamics_series orders them: (jacobian, lyapunov, radius) per layer.
        values[1:] = [np.stack(values[1:], 1).ravel()]
    return np.concatenate(values).astype("<f8").tobytes()

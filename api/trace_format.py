"""How stored traces are laid out: which columns a part has, and their binary encoding.

Per-step parts (loss, grad_norm, weight_change, hessian_free) are stored in blocks of
`BLOCK_STEPS` training steps. A block is the part's columns, each `count` little-endian values
(float64, int64, or uint8 for booleans) one after the other. Beside the full block, each block
keeps a *thin* copy in the same layout: the rows holding some series' minimum or maximum within
each run of `THIN_STRIDE` rows, plus the block's first and last row. A downsampled read over
many blocks reads only thin copies: min-max bucketing over them keeps every extreme a
bucketing over the full rows would (the extremes of any bucket are extremes of a stride in it).

Probe parts (hidden_grad, dynamics) are stored one row per probe.

The run's `meta` (JSON, on the job row) says which parts exist and their column names; it is
taken from the run's first slice.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from api.downsample import bucket_extremes
from api.result_view import SERIES

BLOCK_STEPS = 1024
THIN_STRIDE = 256
STEP_PARTS: tuple[str, ...] = ("loss", "grad_norm", "weight_change", "hessian_free")
PROBE_PARTS: tuple[str, ...] = ("hidden_grad", "dynamics")
TRACE_PARTS: tuple[str, ...] = ("loss", "grad_norm", "hidden_grad", "weight_change", "dynamics",
                                "hessian_free")  # fmt: skip
DTYPES: dict[str, np.dtype] = {"f8": np.dtype("<f8"), "i8": np.dtype("<i8"), "u1": np.dtype("u1")}
INT_COLUMNS = frozenset({"step", "cg_iterations"})
BOOL_COLUMNS = frozenset({"clipped", "accepted"})

# A column: [key in the part, name inside a mapping column (per_param, per_layer) or None, dtype]
Column = tuple[str, str | None, str]
Arrays = dict[str, Any]  # a part shaped as in the result, with numpy arrays for lists


def describe(slice_: dict[str, Any]) -> dict[str, Any]:
    """The meta of a run, from any of its slices (the first one stored)."""
    meta: dict[str, Any] = {}
    for name in STEP_PARTS:
        part = slice_.get(name)
        meta[name] = None if part is None else {"columns": _columns_of(part)}
    hidden = slice_["hidden_grad"]
    meta["hidden_grad"] = {"time_steps": hidden["time_steps"], "layers": hidden["layers"]}
    dynamics = slice_.get("dynamics")
    meta["dynamics"] = None
    if dynamics is not None:
        meta["dynamics"] = {
            "layers": dynamics["layers"],
            "jacobian_norm": dynamics.get("jacobian_norm") is not None,
            "lyapunov": dynamics.get("lyapunov") is not None,
        }
    return meta


def _columns_of(part: dict[str, Any]) -> list[Column]:
    columns: list[Column] = []
    for key, value in part.items():
        if isinstance(value, dict):
            columns.extend((key, name, "f8") for name in value)
        else:
            dtype = "i8" if key in INT_COLUMNS else "u1" if key in BOOL_COLUMNS else "f8"
            columns.append((key, None, dtype))
    return columns


def columns(meta_part: dict[str, Any]) -> list[Column]:
    return [tuple(column) for column in meta_part["columns"]]


def to_arrays(part: dict[str, Any], layout: list[Column]) -> Arrays:
    """A slice's part (lists) as arrays in the stored dtypes; ValueError if it does not fit."""
    arrays: Arrays = {}
    length = len(part["step"])
    for key, name, dtype in layout:
        values = part[key] if name is None else part[key][name]
        array = np.asarray(values, dtype=DTYPES[dtype])
        if array.shape != (length,):
            raise ValueError(f"{key}: {array.shape[0]} values for {length} steps")
        _put(arrays, key, name, array)
    return arrays


def _put(arrays: Arrays, key: str, name: str | None, array: np.ndarray) -> None:
    if name is None:
        arrays[key] = array
    else:
        arrays.setdefault(key, {})[name] = array


def _get(arrays: Arrays, key: str, name: str | None) -> np.ndarray:
    return arrays[key] if name is None else arrays[key][name]


def encode(arrays: Arrays, layout: list[Column]) -> bytes:
    return b"".join(_get(arrays, key, name).tobytes() for key, name, _dtype in layout)


def decode(data: bytes, count: int, layout: list[Column], keys: set[str] | None = None) -> Arrays:
    """The arrays of a block (only the columns under `keys` when given); zero-copy views."""
    arrays: Arrays = {}
    offset = 0
    for key, name, dtype in layout:
        size = DTYPES[dtype].itemsize * count
        if keys is None or key in keys:
            array = np.frombuffer(data, DTYPES[dtype], count, offset)
            _put(arrays, key, name, array)
        offset += size
    return arrays


def take(arrays: Arrays, indices: Any) -> Arrays:
    return {
        key: {name: a[indices] for name, a in value.items()} if isinstance(value, dict)
        else value[indices]
        for key, value in arrays.items()
    }  # fmt: skip


def concat(pieces: list[Arrays], layout: list[Column]) -> Arrays:
    arrays: Arrays = {}
    for key, name, dtype in layout:
        parts = [_get(piece, key, name) for piece in pieces]
        _put(arrays, key, name, np.concatenate(parts) if parts else np.empty(0, DTYPES[dtype]))
    return arrays


def thin_indices(part_name: str, arrays: Arrays) -> np.ndarray:
    """Rows to keep so that every stride of THIN_STRIDE rows keeps its series' extremes."""
    length = len(arrays["step"])
    if length <= 2:
        return np.arange(length)
    buckets = math.ceil((length - 2) / THIN_STRIDE)
    return np.asarray(bucket_extremes(SERIES[part_name](arrays), length, buckets))


def to_json(arrays: Arrays, layout: list[Column]) -> dict[str, Any]:
    """Arrays back to the result's JSON form (bools as bools, ints as ints)."""
    part: dict[str, Any] = {}
    for key, name, dtype in layout:
        array = _get(arrays, key, name)
        values = (array.astype(bool) if dtype == "u1" else array).tolist()
        if name is None:
            part[key] = values
        else:
            part.setdefault(key, {})[name] = values
    return part


def probe_series(hidden_norm: np.ndarray, horizon: np.ndarray, dynamics: dict[str, Any]) -> bytes:
    """The small per-probe numbers downsampling chooses probes by (see result_view.SERIES):
    per layer the first and last |dL/dh_t| and the horizon, then per layer the dynamics'
    first Jacobian norm and first Lyapunov exponent where recorded. hidden_norm: (L, T)."""
    values = [
        np.stack([hidden_norm[:, 0], hidden_norm[:, -1], horizon.astype(np.float64)], 1).ravel()
    ]
    for key in ("jacobian_norm", "lyapunov"):
        if dynamics.get(key) is not None:
            values.append(np.asarray(dynamics[key], dtype=np.float64)[:, 0])
    if len(values) > 1:
        # Layer-major, as _dynamics_series orders them: (jacobian, lyapunov) per layer.
        values[1:] = [np.stack(values[1:], 1).ravel()]
    return np.concatenate(values).astype("<f8").tobytes()

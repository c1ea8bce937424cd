"""pandas DataFrames of results and comparisons, for notebooks (`pip install gradflow[pandas]`).

pandas is imported only when a frame is asked for, so the client runs without it.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

# The long form of a comparison: one row per run, quantity and x.
COMPARE_COLUMNS = ("id", "label", "quantity", "x", "value")


def _pandas() -> Any:
    try:
        import pandas  # optional: only frames need it
    except ImportError as exc:
        raise ImportError(
            "DataFrames need pandas: pip install 'gradflow[pandas]' (or pandas itself)"
        ) from exc
    return pandas


def results_frame(csv_text: str) -> pd.DataFrame:
    """results.csv as a DataFrame of the same columns: series, step, time_step (nullable
    integers: empty for a per-step value) and value, every float exactly as sent."""
    return _pandas().read_csv(
        io.StringIO(csv_text),
        dtype={"series": "string", "step": "int64", "time_step": "Int64", "value": "float64"},
        keep_default_na=False,
        na_values={"time_step": [""]},
    )


def compare_frame(answer: dict[str, Any]) -> pd.DataFrame:
    """A GET /v1/compare answer in long form: id, label, quantity, x, value. Quantities:
    hidden_grad.by_t (x: the time step t), hidden_grad.by_distance (x: t - T), and loss,
    grad_norm and horizon (x: the training step). Points a run lacks are left out."""
    rows: list[tuple[str, str, str, int, float]] = []
    runs = answer["runs"]
    for kind, aligned in answer["hidden_grad"].items():
        for run, values in zip(runs, aligned["values"], strict=True):
            rows += [
                (run["id"], run["label"], f"hidden_grad.{kind}", x, value)
                for x, value in zip(aligned["x"], values, strict=True)
                if value is not None
            ]
    for quantity in ("loss", "grad_norm", "horizon"):
        for run, series in zip(runs, answer[quantity], strict=True):
            rows += [
                (run["id"], run["label"], quantity, step, value)
                for step, value in zip(series["step"], series["value"], strict=True)
            ]
    frame = _pandas().DataFrame(rows, columns=list(COMPARE_COLUMNS))
    return frame.astype({"x": "int64", "value": "float64"})

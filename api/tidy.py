"""A result document in tidy long form: one row per step, series (and time step) and value.

Series are named by their place in the document: `loss.loss`, `grad_norm.total`,
`grad_norm.per_param.<parameter>`, `weight_change.<weight>`, `hidden_grad.<layer>` (one row per
time step, 1-based, so a probe's curve is T rows), `hidden_grad.horizon.<layer>`. Booleans
(`grad_norm.clipped`) are 0 or 1. Spreadsheets pivot it; Grafana's CSV sources read it as is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from typing import Any

HEADER: tuple[str, ...] = ("series", "step", "time_step", "value")
TIDY_PARTS: tuple[str, ...] = ("loss", "grad_norm", "hidden_grad", "weight_change")
Row = tuple[str, int, int | None, float]


def _columns(prefix: str, trace: dict[str, Any], names: Sequence[str]) -> Iterator[Row]:
    for name in names:
        for step, value in zip(trace["step"], trace[name], strict=True):
            yield f"{prefix}.{name}", step, None, float(value)


def _mapping(prefix: str, steps: list[int], columns: dict[str, list[float]]) -> Iterator[Row]:
    for name, values in columns.items():
        for step, value in zip(steps, values, strict=True):
            yield f"{prefix}.{name}", step, None, float(value)


def _hidden_grad(trace: dict[str, Any]) -> Iterator[Row]:
    for index, step in enumerate(trace["step"]):
        for layer, name in enumerate(trace["layers"]):
            for t, value in enumerate(trace["norm"][index][layer], start=1):
                yield f"hidden_grad.{name}", step, t, value
            yield f"hidden_grad.horizon.{name}", step, None, float(trace["horizon"][index][layer])


def tidy_rows(view: dict[str, Any]) -> Iterator[Row]:
    """Rows of every trace present in `view` (a document, or a cut of one)."""
    if "loss" in view:
        yield from _columns("loss", view["loss"], ("loss", "metric"))
    if "grad_norm" in view:
        trace = view["grad_norm"]
        yield from _columns("grad_norm", trace, ("total", "clipped_total", "clipped"))
        yield from _mapping("grad_norm.per_param", trace["step"], trace["per_param"])
    if "hidden_grad" in view:
        yield from _hidden_grad(view["hidden_grad"])
    if "weight_change" in view:
        trace = view["weight_change"]
        yield from _mapping("weight_change", trace["step"], trace["per_layer"])


def csv_chunks(rows: Iterator[Row], rows_per_chunk: int = 2000) -> Iterator[str]:
    """The CSV text in chunks, so a long run streams instead of being built in memory."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for count, (series, step, time_step, value) in enumerate(rows, start=1):
        writer.writerow((series, step, "" if time_step is None else time_step, repr(value)))
        if count % rows_per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()

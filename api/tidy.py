"""A result document in tidy long form: one row per step, series (and index) and value.

Every trace part of the result model is exported, each of its columns named by its place in the
document: `<part>.<field>` for a column with one entry per step (`loss.loss`, `grad_norm.total`,
`hessian_free.damping`), `<part>.<field>.<name>` for one of a mapping's columns
(`grad_norm.per_param.<parameter>`, `weight_change.per_layer.<weight>`) and for a probe part's
per-layer numbers (`hidden_grad.horizon.<layer>`), and, one row per entry of a curve,
`hidden_grad.norm.<layer>`, `dynamics.jacobian_norm.<layer>` (time_step: the time step t,
1-based), `dynamics.lyapunov.<layer>` (time_step: the exponent's rank k, 1-based) and
`dynamics.eigenvalues.<layer>.re` and `.im` (time_step: the eigenvalue's index k, 1-based). Booleans
(`grad_norm.clipped`, `hessian_free.accepted`) are 0 or 1. Spreadsheets pivot it; Grafana's
CSV sources read it as is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from jobs.result_view import TRACE_MODELS, Column, columns

HEADER: tuple[str, ...] = ("series", "step", "time_step", "value")
Row = tuple[str, int, int | None, float]


def _column_rows(prefix: str, column: Column, trace: dict[str, Any]) -> Iterator[Row]:
    values = trace[column.name]
    if column.keyed:  # {name: one entry per step}
        for name, entries in values.items():
            for step, value in zip(trace["step"], entries, strict=True):
                yield f"{prefix}.{name}", step, None, float(value)
        return
    for step, entry in zip(trace["step"], values, strict=True):
        if column.depth == 1:
            yield prefix, step, None, float(entry)
            continue
        for layer, per_layer in zip(trace["layers"], entry, strict=True):
            if column.depth == 2:
                yield f"{prefix}.{layer}", step, None, float(per_layer)
                continue
            for index, value in enumerate(per_layer, start=1):
                if column.depth == 4:  # an eigenvalue's (re, im) pair
                    yield f"{prefix}.{layer}.re", step, index, float(value[0])
                    yield f"{prefix}.{layer}.im", step, index, float(value[1])
                else:
                    yield f"{prefix}.{layer}", step, index, float(value)


def tidy_rows(view: dict[str, Any]) -> Iterator[Row]:
    """Rows of every trace present in `view` (a document, or a cut of one), in model order;
    a column that is null (a measurement not asked for) has none."""
    for part in TRACE_MODELS:
        trace = view.get(part)
        if trace is None:
            continue
        for column in columns(part):
            if column.name != "step" and trace.get(column.name) is not None:
                yield from _column_rows(f"{part}.{column.name}", column, trace)


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

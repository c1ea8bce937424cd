"""Read stored traces: any step range, whole or downsampled, at a cost set by what is returned.

Every read is bounded by a `Stored` cursor taken from the job row when the read starts (its
last stored step and probe count), so columns stay aligned while a running job appends.

A downsampled per-step part reads the full rows of at most the two blocks at the ends of the
range and only the thin copies (jobs/trace_format.py) of the blocks between, then min-max
bucketing (jobs/downsample.py) picks among those rows. Probes are chosen by their small series
column; only the chosen probes' curves are read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs import trace_format as fmt
from jobs.downsample import segment_extremes, select_indices
from jobs.models import Job, TraceBlock
from jobs.result_view import RESULT_FIELDS, SERIES
from jobs.trace_probes import choose_probes, read_probes


@dataclass(frozen=True)
class Stored:
    """What a read may see of a job's traces (the job row when the read started)."""

    job_id: str
    status: str
    meta: dict[str, Any] | None
    last_step: int | None
    probes: int
    summary: dict[str, Any] | None

    @classmethod
    def of(cls, job: Job) -> Stored:
        return cls(
            job.id, job.status, job.trace_meta, job.trace_step, job.trace_probes, job.summary
        )

    def step_range(self, step_from: int | None, step_to: int | None) -> tuple[int, int]:
        """[low, high] of stored steps asked for (empty when high < low)."""
        last = -1 if self.last_step is None else self.last_step
        return step_from or 0, last if step_to is None else min(step_to, last)


def read_view(
    session: Session,
    job_id: str,
    fields: Sequence[str] = RESULT_FIELDS,
    step_from: int | None = None,
    step_to: int | None = None,
    max_points: int | None = None,
) -> dict[str, Any]:
    """What result_view.view_result gives for the stored result (summary from the job row)."""
    stored = Stored.of(session.get(Job, job_id, populate_existing=True))
    return view(session, stored, fields, step_from, step_to, max_points)


def load_traces(session: Session, job_id: str) -> dict[str, Any] | None:
    """Every stored trace part, shaped like a slice; None when nothing is stored."""
    stored = Stored.of(session.get(Job, job_id, populate_existing=True))
    if stored.meta is None:
        return None
    return view(session, stored, fmt.TRACE_PARTS)


def view(
    session: Session,
    stored: Stored,
    fields: Sequence[str],
    step_from: int | None = None,
    step_to: int | None = None,
    max_points: int | None = None,
) -> dict[str, Any]:
    low, high = stored.step_range(step_from, step_to)
    result: dict[str, Any] = {}
    for name in fields:
        if name == "summary":
            result[name] = stored.summary
        elif stored.meta is None or stored.meta[name] is None:
            result[name] = None
        elif name in fmt.STEP_PARTS:
            result[name] = read_steps(session, stored, name, low, high, max_points)
        else:
            positions = choose_probes(session, stored, name, low, high, max_points)
            result[name] = read_probes(session, stored, name, positions)
    return result


def read_slice(
    session: Session, stored: Stored, low: int, high: int, probes: range
) -> dict[str, Any]:
    """Slice-shaped: per-step parts for steps low..high, probe parts for these positions."""
    result: dict[str, Any] = {}
    for name in fmt.TRACE_PARTS:
        if stored.meta is None or stored.meta[name] is None:
            result[name] = None
        elif name in fmt.STEP_PARTS:
            result[name] = read_steps(session, stored, name, low, high)
        else:
            result[name] = read_probes(session, stored, name, list(probes))
    return result


# ---- per-step parts ----------------------------------------------------------------------


def _in_range(stored: Stored, name: str, low: int, high: int) -> list[Any]:
    return [
        TraceBlock.job_id == stored.job_id,
        TraceBlock.part == name,
        TraceBlock.block.between(low // fmt.BLOCK_STEPS, high // fmt.BLOCK_STEPS),
        TraceBlock.last_step >= low,
        TraceBlock.first_step <= high,
    ]


def step_pieces(
    session: Session,
    stored: Stored,
    name: str,
    low: int,
    high: int,
    blocks: list[int] | None = None,
) -> Iterator[np.ndarray]:
    """The part's rows with steps low..high, a block at a time (only these `blocks` when
    given): (steps, columns) float64, step first."""
    layout = fmt.columns(stored.meta[name])
    query = (
        select(TraceBlock.first_step, TraceBlock.last_step, TraceBlock.count, TraceBlock.data)
        .where(*_in_range(stored, name, low, high))
        .order_by(TraceBlock.block)
        .execution_options(yield_per=8)
    )
    if blocks is not None:
        query = query.where(TraceBlock.block.in_(blocks))
    for row in session.execute(query):
        rows = fmt.decode(row.data, row.count, layout)
        if row.first_step < low or row.last_step > high:
            rows = rows[(rows[:, 0] >= low) & (rows[:, 0] <= high)]
        yield rows


def read_steps(
    session: Session,
    stored: Stored,
    name: str,
    low: int,
    high: int,
    max_points: int | None = None,
) -> dict[str, Any]:
    layout = fmt.columns(stored.meta[name])
    blocks = session.execute(
        select(
            TraceBlock.block,
            TraceBlock.count,
            TraceBlock.first_step,
            TraceBlock.last_step,
            TraceBlock.thin_count,
            TraceBlock.thin,
        )
        .where(*_in_range(stored, name, low, high))
        .order_by(TraceBlock.block)
    ).all()
    total = sum(row.count for row in blocks)
    # Bucketing keeps at most two rows per series and bucket, plus the ends.
    per_bucket = 2 * sum(1 for key, _name, dtype in layout if key != "step" and dtype != "u1") + 2
    # Thin copies are worth it once they still offer max_points rows to choose from.
    if (
        max_points is None
        or total <= max_points
        or total / fmt.THIN_STRIDE * per_bucket < max_points
    ):
        rows = fmt.concat(list(step_pieces(session, stored, name, low, high)), layout)
    else:
        rows, starts = _thin_candidates(session, stored, name, low, high, blocks)
        if len(starts) * per_bucket >= max_points:
            # Blocks are finer than any bucket will be: each block's extremes are enough.
            series = SERIES[name](fmt.arrays(rows, layout))
            rows = rows[sorted({0, len(rows) - 1, *segment_extremes(series, starts, len(rows))})]
    if max_points is not None and len(rows) > max_points:
        series = SERIES[name](fmt.arrays(rows, layout))
        rows = rows[select_indices(series, len(rows), max_points)]
    return fmt.to_json(rows, layout)


def _thin_candidates(
    session: Session, stored: Stored, name: str, low: int, high: int, blocks: list[Any]
) -> tuple[np.ndarray, np.ndarray]:
    """The rows bucketing may keep, and where each block's begin among them: the thin copies
    of the blocks inside low..high, and the rows in range of the (at most two) blocks cut by
    its ends, thinned the same way."""
    layout = fmt.columns(stored.meta[name])
    pieces = {
        row.block: fmt.decode(row.thin, row.thin_count, layout)
        for row in blocks
        if row.first_step >= low and row.last_step <= high
    }
    cut = [row.block for row in blocks if row.block not in pieces]
    for block, rows in zip(cut, step_pieces(session, stored, name, low, high, cut), strict=True):
        pieces[block] = rows[fmt.thin_indices(name, rows, layout)]
    ordered = [pieces[block] for block in sorted(pieces) if len(pieces[block])]
    sizes = [len(piece) for piece in ordered]
    return fmt.concat(ordered, layout), np.cumsum([0, *sizes[:-1]])

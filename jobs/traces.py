"""A run's traces, stored as they come: the worker appends slices; readers read any range.

`append_slice` stores one slice (see jobs/trace_format.py for the layout) in one transaction,
fenced by the attempt: it stores nothing unless the job is running that attempt. Its cost is
that of the slice plus at most the one block it continues, never the whole run. Readers live in
jobs/trace_read.py and api/trace_stream.py; this module re-exports the two the worker and the
tests use.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.orm import Session

from jobs import trace_format as fmt
from jobs.models import Job, TraceBlock, TraceProbe
from jobs.statuses import JobStatus
from jobs.trace_read import load_traces, read_view

__all__ = ["append_slice", "load_traces", "read_view", "store_slice", "truncate_after"]


def append_slice(session: Session, job_id: str, attempt: int, slice_: dict[str, Any]) -> bool:
    """Store `slice_` if the job is running attempt `attempt`; False (nothing stored) if not.
    ValueError if it does not continue what is stored (steps must grow) or fit its layout."""
    return store_slice(
        session, job_id, slice_, Job.status == JobStatus.running, Job.attempts == attempt
    )


def store_slice(session: Session, job_id: str, slice_: dict[str, Any], *fence: Any) -> bool:
    """`append_slice` under any conditions on the job row (none: schema revision 0002 moving
    results stored whole)."""
    this_job = (Job.id == job_id, *fence)
    row = session.execute(
        select(Job.trace_meta, Job.trace_step, Job.trace_probes).where(*this_job)
    ).first()
    if row is None:
        session.rollback()
        return False
    meta = row.trace_meta or fmt.describe(slice_)
    try:
        last_steps = [_append_steps(session, job_id, name, meta, slice_) for name in fmt.STEP_PARTS]
        probes = _append_probes(session, job_id, meta, slice_, row.trace_probes)
    except Exception:
        session.rollback()
        raise
    probe_steps = slice_["hidden_grad"]["step"]
    last_steps += [row.trace_step, probe_steps[-1] if probe_steps else None]
    known = [step for step in last_steps if step is not None]
    # The gate: the UPDATE matches only while this run is still the job's current one (and no
    # other append slipped in), and it bumps `version` so event streams see the new data.
    changed = session.execute(
        update(Job)
        .where(*this_job, Job.trace_probes == row.trace_probes)
        .values(
            trace_meta=meta,
            trace_step=max(known) if known else None,
            trace_probes=row.trace_probes + probes,
        )
    ).rowcount
    return _commit_if_fenced(session, changed)


def _commit_if_fenced(session: Session, changed_rows: int) -> bool:
    """Commit when the fenced update of the job row matched it (the writer still holds the
    job), else undo everything this transaction wrote."""
    if changed_rows != 1:
        session.rollback()
        return False
    session.commit()
    return True


def _append_steps(
    session: Session, job_id: str, name: str, meta: dict[str, Any], slice_: dict[str, Any]
) -> int | None:
    """Write a per-step part's new rows; the last step written, or None."""
    part = slice_.get(name)
    if meta[name] is None or part is None:
        if (meta[name] is None) != (part is None):
            raise ValueError(f"{name}: present in some slices of the run and null in others")
        return None
    layout = fmt.columns(meta[name])
    rows = fmt.to_rows(part, layout)
    steps = rows[:, 0].astype(np.int64)
    if steps.size == 0:
        return None
    if np.any(np.diff(steps) <= 0):
        raise ValueError(f"{name}.step: not strictly increasing")
    previous = session.scalars(
        select(TraceBlock)
        .where(TraceBlock.job_id == job_id, TraceBlock.part == name)
        .order_by(TraceBlock.block.desc())
        .limit(1)
    ).first()
    if previous is not None and previous.last_step >= steps[0]:
        raise ValueError(
            f"{name}.step: starts at {steps[0]}, not after the stored step {previous.last_step}"
        )
    blocks = steps // fmt.BLOCK_STEPS
    for block in np.split(rows, np.flatnonzero(np.diff(blocks)) + 1):
        number = int(block[0, 0]) // fmt.BLOCK_STEPS
        if previous is not None and previous.block == number:
            # The slice continues the block the last one left open: rewrite that block (at
            # most BLOCK_STEPS rows), keeping one row per block.
            stored = fmt.decode(previous.data, previous.count, layout)
            _fill(previous, name, layout, np.concatenate([stored, block]))
        else:
            row = TraceBlock(job_id=job_id, part=name, block=number)
            _fill(row, name, layout, block)
            session.add(row)
    return int(steps[-1])


def _fill(row: TraceBlock, name: str, layout: list[fmt.Column], rows: np.ndarray) -> None:
    thin = rows[fmt.thin_indices(name, rows, layout)]
    row.first_step, row.last_step, row.count = int(rows[0, 0]), int(rows[-1, 0]), len(rows)
    row.data, row.thin_count, row.thin = fmt.encode(rows), len(thin), fmt.encode(thin)


def _append_probes(
    session: Session, job_id: str, meta: dict[str, Any], slice_: dict[str, Any], stored: int
) -> int:
    """Write each new probe as a row; how many."""
    hidden, dynamics = slice_["hidden_grad"], slice_.get("dynamics")
    steps = hidden["step"]
    if (dynamics is None) != (meta["dynamics"] is None) or (
        dynamics is not None and dynamics["step"] != steps
    ):
        raise ValueError("dynamics: must be recorded at exactly the hidden_grad probe steps")
    if steps and stored:
        last = session.scalar(
            select(TraceProbe.step).where(
                TraceProbe.job_id == job_id, TraceProbe.position == stored - 1
            )
        )
        if last is not None and steps[0] <= last:
            raise ValueError(f"hidden_grad.step: starts at {steps[0]}, not after {last}")
    shape = (len(meta["hidden_grad"]["layers"]), meta["hidden_grad"]["time_steps"])
    rows: list[dict[str, Any]] = []
    for index, step in enumerate(steps):
        norm = np.asarray(hidden["norm"][index], dtype="<f8")
        horizon = np.asarray(hidden["horizon"][index], dtype="<i8")
        recall = _recall_horizon(meta, hidden, index)
        if norm.shape != shape or horizon.shape != shape[:1]:
            raise ValueError(f"hidden_grad: probe at step {step} is not {shape} curves")
        if recall is not None and recall.shape != shape[:1]:
            raise ValueError(f"hidden_grad.recall_horizon: probe at step {step} is not per layer")
        measured = {
            key: np.asarray(dynamics[key][index], dtype="<f8")
            for key in ("jacobian_norm", "lyapunov", "eigenvalues")
            if dynamics is not None and dynamics.get(key) is not None
        }
        row = {
            "job_id": job_id,
            "position": stored + index,
            "step": step,
            "series": fmt.probe_series(norm, horizon, measured),
            "norm": norm.tobytes(),
            "horizon": horizon.tobytes(),
            "jacobian_norm": _bytes(measured.get("jacobian_norm")),
            "lyapunov": _bytes(measured.get("lyapunov")),
        }
        if recall is not None:
            row["recall_horizon"] = recall.tobytes()
        if "eigenvalues" in measured:
            row["eigenvalues"] = _bytes(measured["eigenvalues"])
        rows.append(row)
    # A bulk INSERT names only the keys given: a run without a recall horizon or eigenvalues
    # names no such column, so revision 0002 can move results through this code before the
    # revisions that add them.
    if rows:
        session.execute(insert(TraceProbe), rows)
    return len(steps)


def _recall_horizon(meta: dict[str, Any], hidden: dict[str, Any], index: int) -> np.ndarray | None:
    """The probe's recall-phase horizons, present exactly when the run records them."""
    recall = hidden.get("recall_horizon")
    if (recall is not None) != bool(meta["hidden_grad"].get("recall")):
        raise ValueError("hidden_grad.recall_horizon: given in some slices of the run only")
    return None if recall is None else np.asarray(recall[index], dtype="<i8")


def _bytes(array: np.ndarray | None) -> bytes | None:
    return None if array is None else array.tobytes()


def truncate_after(session: Session, job_id: str, step: int, attempt: int | None = None) -> bool:
    """Delete everything stored for training steps after `step` (-1: everything), so that a
    resumed run can store them again. Given `attempt`, only while that run is the job's
    current one; False when it is not (or the job is gone)."""
    fence = [Job.id == job_id]
    if attempt is not None:
        fence += [Job.status == JobStatus.running, Job.attempts == attempt]
    meta = session.scalar(select(Job.trace_meta).where(*fence))
    if meta is None:
        session.rollback()
        return session.scalar(select(func.count()).select_from(Job).where(*fence)) == 1
    first_cut = (step + 1) // fmt.BLOCK_STEPS
    owned = (TraceBlock.job_id == job_id, TraceBlock.block >= first_cut)
    for block in session.scalars(select(TraceBlock).where(*owned, TraceBlock.first_step <= step)):
        layout = fmt.columns(meta[block.part])
        rows = fmt.decode(block.data, block.count, layout)
        _fill(block, block.part, layout, rows[rows[:, 0] <= step])
    session.execute(delete(TraceBlock).where(*owned, TraceBlock.first_step > step))
    session.execute(delete(TraceProbe).where(TraceProbe.job_id == job_id, TraceProbe.step > step))
    probes = (
        select(func.count()).select_from(TraceProbe).where(TraceProbe.job_id == job_id)
    ).scalar_subquery()
    changed = session.execute(
        update(Job)
        .where(*fence)
        .values(
            trace_step=case((Job.trace_step > step, step), else_=Job.trace_step)
            if step >= 0
            else None,
            trace_probes=probes,
        )
    ).rowcount
    return _commit_if_fenced(session, changed)

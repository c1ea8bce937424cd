"""Whole results streamed: the JSON document and the tidy CSV, produced a block at a time.

A long run's full result is tens of megabytes of JSON; these generators hold at most one block
(or a few hundred probes) of it at a time. They open their own session, since they run after
the request's handler has returned.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from api.tidy import Row, tidy_rows
from jobs import trace_format as fmt
from jobs.result_view import TRACE_MODELS
from jobs.statuses import ACTIVE_STATUSES
from jobs.trace_probes import PROBE_COLUMNS, choose_probes, probe_rows, probe_value, read_probes
from jobs.trace_read import Stored, step_pieces, view

PROBES_PER_PIECE = 256
# Each piece a StreamingResponse sends costs a hop to a worker thread: send fewer, larger ones.
PIECE_CHARS = 1 << 16


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def marks(stored: Stored) -> dict[str, Any]:
    """Top-level keys of every result: whether the run may still add to it, and up to which
    training step it is stored (poll again with step_from = last_step + 1)."""
    return {"partial": stored.status in ACTIVE_STATUSES, "last_step": stored.last_step}


def json_chunks(
    sessions: sessionmaker[Session],
    stored: Stored,
    fields: Sequence[str],
    step_from: int | None,
    step_to: int | None,
) -> Iterator[str]:
    """The text of view(...) plus marks(...), as one JSON object, in pieces of about
    PIECE_CHARS characters."""
    piece: list[str] = []
    size = 0
    for text in _json_text(sessions, stored, fields, step_from, step_to):
        piece.append(text)
        size += len(text)
        if size >= PIECE_CHARS:
            yield "".join(piece)
            piece, size = [], 0
    yield "".join(piece)


def _json_text(
    sessions: sessionmaker[Session],
    stored: Stored,
    fields: Sequence[str],
    step_from: int | None,
    step_to: int | None,
) -> Iterator[str]:
    low, high = stored.step_range(step_from, step_to)
    with sessions() as session:
        yield "{"
        for name in fields:
            yield f"{dumps(name)}:"
            if name == "summary":
                yield dumps(stored.summary)
            elif stored.meta is None or stored.meta[name] is None:
                yield "null"
            elif name in fmt.STEP_PARTS:
                yield from _step_part(session, stored, name, low, high)
            else:
                yield from _probe_part(session, stored, name, low, high)
            yield ","
        yield dumps(marks(stored))[1:]


def _step_part(session: Session, stored: Stored, name: str, low: int, high: int) -> Iterator[str]:
    layout = fmt.columns(stored.meta[name])
    keys = list(dict.fromkeys(key for key, _name, _dtype in layout))
    for index, key in enumerate(keys):
        yield ("{" if index == 0 else ",") + f"{dumps(key)}:"
        names = [column[1] for column in layout if column[0] == key]
        if names == [None]:
            yield from _values(session, stored, name, low, high, key, None)
            continue
        for position, column in enumerate(names):
            yield ("{" if position == 0 else ",") + f"{dumps(column)}:"
            yield from _values(session, stored, name, low, high, key, column)
        yield "}"
    yield "}"


def _values(
    session: Session, stored: Stored, name: str, low: int, high: int, key: str, column: str | None
) -> Iterator[str]:
    """One column as a JSON list, a block at a time."""
    layout = fmt.columns(stored.meta[name])
    index = next(i for i, (k, n, _dtype) in enumerate(layout) if (k, n) == (key, column))
    yield "["
    first = True
    for rows in step_pieces(session, stored, name, low, high):
        if len(rows):
            values = fmt.to_json(rows[:, [index]], [layout[index]])[key]
            values = values if column is None else values[column]
            yield ("" if first else ",") + dumps(values)[1:-1]
            first = False
    yield "]"


def _probe_part(session: Session, stored: Stored, name: str, low: int, high: int) -> Iterator[str]:
    positions = choose_probes(session, stored, name, low, high)
    meta = stored.meta[name]
    head = {key: value for key, value in meta.items() if key in ("time_steps", "layers")}
    steps = [row.step for row in probe_rows(session, stored, positions)]
    yield dumps({"step": steps, **head})[:-1]
    for key in PROBE_COLUMNS[name]:
        yield f",{dumps(key)}:"
        if name == "dynamics" and not meta.get(key):  # runs stored before a key have none
            yield "null"
            continue
        yield "["
        for index, row in enumerate(probe_rows(session, stored, positions, key)):
            yield ("," if index else "") + dumps(
                probe_value(key, getattr(row, key), len(meta["layers"]))
            )
        yield "]"
    yield "}"


def csv_rows(
    sessions: sessionmaker[Session],
    stored: Stored,
    fields: Sequence[str],
    step_from: int | None,
    step_to: int | None,
    max_points: int | None,
) -> Iterator[Row]:
    """tidy_rows of the view, a block (or PROBES_PER_PIECE probes) at a time when whole."""
    with sessions() as session:
        if max_points is not None:
            yield from tidy_rows(view(session, stored, fields, step_from, step_to, max_points))
            return
        low, high = stored.step_range(step_from, step_to)
        for name in fields:
            if name not in TRACE_MODELS or stored.meta is None or stored.meta[name] is None:
                continue
            if name in fmt.STEP_PARTS:
                layout = fmt.columns(stored.meta[name])
                for rows in step_pieces(session, stored, name, low, high):
                    yield from tidy_rows({name: fmt.to_json(rows, layout)})
                continue
            positions = choose_probes(session, stored, name, low, high)
            for start in range(0, len(positions), PROBES_PER_PIECE):
                chosen = positions[start : start + PROBES_PER_PIECE]
                yield from tidy_rows({name: read_probes(session, stored, name, chosen)})

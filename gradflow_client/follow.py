"""A followed experiment's events as typed objects, and its trace slices merged.

`Client.follow(id)` yields Traces (the trace entries stored since the previous Traces: a slice
shaped like the result's trace parts), Status, Progress and, last, End. Merging every Traces'
data in order with `merge` gives the finished run's traces (`Client.results(id)` less summary).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gradflow_client.sse import Event

# Keys of a trace part that describe it rather than list one entry per step or probe.
WHOLE = frozenset({"time_steps", "layers"})


@dataclass(frozen=True)
class Traces:
    """New trace entries: {part: {column: [...]}} for loss, grad_norm, weight_change,
    hidden_grad, dynamics, hessian_free (null where the run records none)."""

    data: dict[str, Any]
    id: str | None  # follow(..., last_event_id=id) resumes right after this event


@dataclass(frozen=True)
class Status:
    status: str


@dataclass(frozen=True)
class Progress:
    step: int
    total: int
    fraction: float
    loss: float | None
    eta_seconds: float | None


@dataclass(frozen=True)
class End:
    status: str
    error: str | None
    summary: dict[str, Any] | None


RunEvent = Traces | Status | Progress | End


def typed(event: Event) -> RunEvent | None:
    """The typed form of an experiment's stream event; None for a name it does not know."""
    data = event.data
    if event.name == "traces":
        return Traces(data, event.id)
    if event.name == "status":
        return Status(data["status"])
    if event.name == "progress":
        return Progress(
            data["step"], data["total"], data["fraction"], data["loss"], data["eta_seconds"]
        )
    if event.name == "end":
        return End(data["status"], data.get("error"), data.get("summary"))
    return None


def merge(into: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Appends the entries of slice `new` to `into` (a slice, or {} to start), in place;
    returns `into`."""
    for key, value in new.items():
        if key in WHOLE or into.get(key) is None:
            into[key] = value
        elif isinstance(value, list):
            into[key].extend(value)
        elif isinstance(value, dict):
            merge(into[key], value)
    return into

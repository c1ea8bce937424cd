"""The client's readable refusals and its progress callback, without a server."""

from __future__ import annotations

from typing import Any

from gradflow_client import Client, Event, GradflowError


def test_a_422_reads_one_line_per_field() -> None:
    detail = [
        {"loc": ["body", "hiden_size"], "msg": "unknown field; did you mean hidden_size?"},
        {"loc": ["body", "optimizer", "lr"], "msg": "Input should be greater than 0"},
        {"loc": ["query", "limit"], "msg": "Input should be a valid integer"},
        {"loc": ["body"], "msg": "Field required"},
    ]
    error = GradflowError(422, detail)
    assert str(error).splitlines() == [
        "HTTP 422: the request was refused:",
        "  hiden_size: unknown field; did you mean hidden_size?",
        "  optimizer.lr: Input should be greater than 0",
        "  limit (query): Input should be a valid integer",
        "  body: Field required",
    ]
    assert error.detail is detail  # kept as sent, for programs


def test_any_other_detail_reads_as_sent() -> None:
    assert str(GradflowError(404, "experiment x not found")) == "HTTP 404: experiment x not found"
    assert str(GradflowError(422, [])) == "HTTP 422: []"
    assert str(GradflowError(500, ["odd"])) == "HTTP 500: ['odd']"


def progress(step: int, loss: float | None) -> Event:
    data = {"step": step, "total": 10, "fraction": step / 10, "loss": loss, "eta_seconds": None}
    return Event("progress", data, None)


def test_progress_reaches_the_callback_once_per_change_and_from_the_first_step() -> None:
    events = [
        Event("status", {"status": "running"}, None),
        progress(0, None),  # running, no step made: nothing to report
        progress(3, 0.5),
        progress(3, 0.5),  # resent because traces were stored: unchanged
        Event("traces", {}, "1.3.0"),
        progress(7, 0.25),
        progress(7, 0.25),
        Event("end", {"status": "succeeded"}, None),
    ]
    seen: list[dict[str, Any]] = []
    Client._drain(iter(events), seen.append)
    assert [(p["step"], p["loss"]) for p in seen] == [(3, 0.5), (7, 0.25)]


def test_a_sweeps_progress_is_delivered_when_its_counts_change() -> None:
    def sweep(done: int) -> Event:
        return Event(
            "progress",
            {"counts": {"succeeded": done}, "done": done, "size": 2, "fraction": done / 2},
            None,
        )

    seen: list[dict[str, Any]] = []
    Client._drain(iter([sweep(0), sweep(0), sweep(1), sweep(2)]), seen.append)
    assert [p["done"] for p in seen] == [0, 1, 2]

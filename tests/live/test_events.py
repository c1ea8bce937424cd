"""Server-Sent Events against the live service: order, ids, the end event, reconnects."""

from __future__ import annotations

import itertools

import httpx
from httpx_sse import EventSource

from gradflow_client.sse import Event
from tests.live.conftest import TINY, Live

STREAM_TIMEOUT = httpx.Timeout(10.0, read=60.0)


def _read(http: httpx.Client, path: str, last_id: str | None = None) -> tuple[int, list[Event]]:
    """The status code and the events with data: the first frame only advises `retry`, and
    httpx-sse reports each keep-alive comment after an id as an event without data. An event's
    id is the stream's last id when it arrived, as a browser's EventSource keeps it."""
    headers = {"Last-Event-ID": last_id} if last_id else {}
    with http.stream("GET", path, headers=headers, timeout=STREAM_TIMEOUT) as reply:
        if reply.status_code != 200:
            return reply.status_code, []
        assert reply.headers["content-type"].startswith("text/event-stream")
        events = list(EventSource(reply).iter_sse())
    assert events[0].retry == 1000 and not events[0].data
    return 200, [Event(sse.event, sse.json(), sse.id or None) for sse in events if sse.data]


def test_an_experiment_streams_status_progress_and_a_final_end(live: Live) -> None:
    job = live.http.post("/v1/experiments", json={**TINY, "cell": "tanh", "steps": 200}).json()
    path = f"/v1/experiments/{job['id']}/events"
    status, events = _read(live.http, path)
    assert status == 200
    names = [event.name for event in events]
    # The stream closed by itself, right after the end event.
    assert names[-1] == "end" and names.count("end") == 1
    assert events[-1].data["status"] == "succeeded" and events[-1].data["summary"]["outcome"]
    statuses = [event.data["status"] for event in events if event.name == "status"]
    assert statuses[-1] == "succeeded" and statuses == sorted(
        statuses, key=["queued", "running", "succeeded"].index
    )
    steps = [event.data["step"] for event in events if event.name == "progress"]
    assert steps and steps == sorted(steps) and all(0 <= s <= 200 for s in steps)
    # Ids are "version.step.probes" (api/events.py): each new one larger, in that order.
    ids = _distinct([_position(event.id) for event in events if event.id is not None])
    assert ids == sorted(set(ids)) and events[-1].id is not None

    # Reconnecting from an early id resends only what is newer, ending with the same end event.
    early = next(event.id for event in events if event.id is not None)
    _, resumed = _read(live.http, path, last_id=early)
    assert resumed[-1].name == "end"
    assert all(_position(e.id) > _position(early) for e in resumed if e.id)
    # After the end, a reconnect is told there is nothing more: 204 stops an EventSource.
    assert _read(live.http, path, last_id=events[-1].id)[0] == 204
    assert _read(live.http, "/v1/experiments/nope/events")[0] == 404


def _position(event_id: str) -> tuple[int, ...]:
    return tuple(int(part) for part in event_id.split("."))


def _distinct(ids: list) -> list:
    """Each id once per run of events that carried it along."""
    return [key for key, _run in itertools.groupby(ids)]


def test_a_sweep_streams_until_every_experiment_ended(live: Live) -> None:
    body = {"base": {**TINY, "cell": "tanh"}, "grid": {"seq_len": [10, 12]}}
    sweep = live.http.post("/v1/sweeps", json=body).json()
    status, events = _read(live.http, f"/v1/sweeps/{sweep['id']}/events")
    assert status == 200 and events[-1].name == "end"
    assert events[-1].data["counts"] == {"succeeded": 2}
    done = [event.data["done"] for event in events if event.name == "progress"]
    assert done == sorted(done) and done[-1] == 2
    ids = _distinct([int(event.id) for event in events if event.id is not None])
    assert ids == sorted(set(ids))
    finished = {
        e.data["id"] for e in events if e.name == "status" and e.data["status"] == "succeeded"
    }
    assert finished == {row["id"] for row in sweep["experiments"]}

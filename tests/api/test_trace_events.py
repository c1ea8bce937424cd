"""`traces` events: the data stored since the last event, bounded in size, and a reconnect with
Last-Event-ID that resumes them without a gap or a repeat."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi.testclient import TestClient

from api.event_hub import EventHub
from api.event_states import read_states
from api.events import parse_last_event_id, stream
from api.routes.events import _trace_reader, states
from gradcore.result import ExperimentResult
from jobs import store, traces
from tests.api.conftest import RESULT_SPEC
from tests.support.traces import concat, slice_between, traces_of

# A few hundred numbers per event: the 120-step run arrives in several events.
SMALL_EVENTS = 1000


def _frames(text: str) -> list[dict[str, Any]]:
    """Each frame's fields: {"id": ..., "event": ..., "data": parsed}."""
    frames = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            frames.append(fields | {"data": json.loads(fields["data"])})
    return frames


def test_a_reconnect_in_the_middle_of_the_traces_resumes_exactly(
    client: TestClient, finished_job, trained: ExperimentResult
) -> None:
    client.app.state.settings.events_trace_max_values = SMALL_EVENTS
    job_id = finished_job(client)
    url = f"/v1/experiments/{job_id}/events"
    first = _frames(client.get(url).text)
    pieces = [frame for frame in first if frame["event"] == "traces"]
    assert len(pieces) >= 3 and all("id" in frame for frame in pieces)
    run = traces_of(trained.model_dump(mode="json"))
    assert concat([frame["data"] for frame in pieces]) == run
    assert [frame["event"] for frame in first[len(pieces) :]] == ["status", "end"]

    # Gone after the second traces event: the reconnect gets the rest, then status and end.
    resumed = _frames(client.get(url, headers={"Last-Event-ID": pieces[1]["id"]}).text)
    rest = [frame["data"] for frame in resumed if frame["event"] == "traces"]
    assert rest == [frame["data"] for frame in pieces[2:]]
    assert [frame["event"] for frame in resumed[len(rest) :]] == ["status", "end"]
    # An id from before trace events existed counts as none received.
    version = pieces[0]["id"].split(".")[0]
    again = _frames(client.get(url, headers={"Last-Event-ID": version}).text)
    assert [frame["data"] for frame in again if frame["event"] == "traces"] == [
        frame["data"] for frame in pieces
    ]


def test_a_stream_sends_traces_as_they_are_stored_and_resumes_after_a_disconnect(
    client: TestClient, trained: ExperimentResult
) -> None:
    run = traces_of(trained.model_dump(mode="json"))
    sessions = client.app.state.sessions
    job_id = client.post("/v1/experiments", json=RESULT_SPEC).json()["id"]
    with sessions() as session:
        attempt = store.start_job(session, job_id, "w@test")
        assert traces.append_slice(session, job_id, attempt, slice_between(run, 0, 100))
    watched = ("job", job_id)
    read_traces = _trace_reader(sessions, SMALL_EVENTS)

    async def follow(last_id: str | None, stop_after_traces: int | None) -> list[dict]:
        """The events of one connection, which the client drops after that many traces."""
        first = read_states(sessions, [watched])[watched]
        updates = states(first, EventHub(sessions, 0.01), watched)
        events = stream(updates, parse_last_event_id(last_id), read_traces)
        received, seen = [], 0
        async for event in events:
            if "event" in event:
                received.append(event | {"data": json.loads(event["data"])})
            seen += "id" in event and event.get("event") == "traces"
            if seen == stop_after_traces:
                break
        await events.aclose()
        return received

    def store_rest() -> None:
        with sessions() as session:
            assert traces.append_slice(session, job_id, attempt, slice_between(run, 100, 110))
            assert traces.append_slice(session, job_id, attempt, slice_between(run, 110, 10**9))
            assert store.finish_job(session, job_id, trained.summary, attempt) == "succeeded"

    first = asyncio.run(follow(None, stop_after_traces=1))
    assert [frame["event"] for frame in first] == ["traces"]
    assert first[-1]["data"]["loss"]["step"][-1] < 99  # dropped in the middle of the backlog
    store_rest()
    second = asyncio.run(follow(first[-1]["id"], stop_after_traces=None))
    assert second[-1]["event"] == "end"
    received = [frame["data"] for frame in first + second if frame["event"] == "traces"]
    assert concat(received) == run

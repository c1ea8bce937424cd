"""Open event streams against uvicorn in this process: capped per API key, freed when a client
leaves, and fed by one read of the database per interval however many are open."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from httpx_sse import EventSource
from sqlalchemy import event

from api.app import create_app
from jobs import keys
from jobs.settings import Settings
from tests.support.specs import TINY_SPEC
from tests.support.waits import scaled, wait_until

POLL_S = 0.05
CAP = 2


@contextmanager
def _serve(settings: Settings) -> Iterator[tuple[FastAPI, str]]:
    """The app (poll every POLL_S, at most CAP streams per key) under uvicorn, and its URL."""
    tuned = settings.model_copy(
        update={"events_poll_interval_s": POLL_S, "max_streams_per_key": CAP}
    )
    app = create_app(tuned)
    server = uvicorn.Server(uvicorn.Config(app, port=0, log_level="warning"))
    thread = threading.Thread(target=server.run)
    thread.start()
    try:
        wait_until(lambda: server.started, 30, "uvicorn started")
        yield app, f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(scaled(30))


@pytest.fixture
def served(settings: Settings) -> Iterator[tuple[FastAPI, str]]:
    with _serve(settings) as app_and_url:
        yield app_and_url


@pytest.fixture
def served_on_both(database: Settings) -> Iterator[tuple[FastAPI, str]]:
    """`served` on SQLite and on PostgreSQL: the hub's queries are checked on both."""
    with _serve(database) as app_and_url:
        yield app_and_url


def _open(stack: ExitStack, http: httpx.Client, path: str) -> Iterator:
    """Opens the stream at `path` for as long as `stack` is; its events, the first one read.
    Keep them: dropping the iterator closes the stream."""
    reply = stack.enter_context(http.stream("GET", path, timeout=scaled(30)))
    assert reply.status_code == 200, reply.read()
    events = EventSource(reply).iter_sse()
    assert next(events).retry == 1000  # the stream's first frame has been sent
    return events


def _key(app: FastAPI, name: str) -> dict[str, str]:
    with app.state.sessions() as session:
        return {"Authorization": f"Bearer {keys.create_key(session, name)[1]}"}


def test_streams_past_the_cap_are_429_per_key_and_a_closed_one_frees_its_slot(served) -> None:
    app, url = served
    alice, bob = _key(app, "alice"), _key(app, "bob")
    with httpx.Client(base_url=url, headers=alice) as http, ExitStack() as first:
        job = http.post("/v1/experiments", json=TINY_SPEC).json()["id"]
        path = f"/v1/experiments/{job}/events"
        held = [_open(first, http, path) for _ in range(CAP)]
        refused = http.get(path)
        assert refused.status_code == 429
        assert "GRADFLOW_MAX_STREAMS_PER_KEY" in refused.json()["detail"]
        with ExitStack() as other:  # another key has slots of its own
            theirs = other.enter_context(httpx.Client(base_url=url, headers=bob))
            job_of_bob = theirs.post("/v1/experiments", json=TINY_SPEC).json()["id"]
            assert _open(other, theirs, f"/v1/experiments/{job_of_bob}/events")
        # The client goes away without a word: the server notices and frees the slots.
        first.close()
        del held

        def reopened() -> bool:
            with http.stream("GET", path) as reply:
                return reply.status_code == 200

        wait_until(reopened, 10, "a slot freed after its client left")


def test_open_streams_cost_one_read_per_interval_however_many(served_on_both) -> None:
    app, url = served_on_both
    statements: list[str] = []
    engine = app.state.sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    hub = app.state.event_hub
    with ExitStack() as streams:
        # Several keys, so the cap does not stop this test: a job and a sweep per key.
        followed = []
        for name in ("a", "b", "c", "d"):
            http = streams.enter_context(httpx.Client(base_url=url, headers=_key(app, name)))
            job = http.post("/v1/experiments", json=TINY_SPEC).json()["id"]
            followed.append((http, job, _open(streams, http, f"/v1/experiments/{job}/events")))
            body = {"base": TINY_SPEC, "grid": {"seq_len": [10, 12]}}
            sweep = http.post("/v1/sweeps", json=body).json()["id"]
            followed.append((http, sweep, _open(streams, http, f"/v1/sweeps/{sweep}/events")))
        polls, seen = hub.polls, len(statements)
        wait_until(lambda: hub.polls >= polls + 10, 30, "ten polls")
        polls, queries = hub.polls - polls, len(statements) - seen
        # Each poll: one query for the 4 jobs, one for the 4 sweeps (8 streams); +2 for a poll
        # under way at either edge of the window.
        assert 2 * (polls - 1) <= queries <= 2 * (polls + 1), (polls, queries)

        # The shared poll still tells each stream its own job's news.
        http, job, events = followed[2]  # key b's job
        assert http.post(f"/v1/experiments/{job}/cancel").status_code == 200
        received = []
        for sse in events:
            received.append((sse.event, sse.json()["status"]))
            if sse.event == "end":
                break
        assert received == [("status", "queued"), ("status", "cancelled"), ("end", "cancelled")]

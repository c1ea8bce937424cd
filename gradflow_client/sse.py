"""Following a Server-Sent Events stream over httpx (httpx-sse parses it), reconnecting with
Last-Event-ID after a dropped connection."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import EventSource

RECONNECTS_MAX = 20


@dataclass(frozen=True)
class Event:
    name: str
    data: dict[str, Any]
    # The stream's last event id once this event arrived (as a browser's EventSource keeps
    # it): resuming from it never skips this event's data.
    id: str | None


def follow(
    client: httpx.Client, path: str, deadline: float | None, last_id: str | None = None
) -> Iterator[Event]:
    """Every event of the stream at `path` after `last_id` (from the start: None) until its
    `end` event, reconnecting after a dropped connection from the last id received (the server
    then sends only what is newer)."""
    for attempt in range(RECONNECTS_MAX + 1):
        headers = {"Accept": "text/event-stream"}
        if last_id is not None:
            headers["Last-Event-ID"] = last_id
        try:
            with client.stream("GET", path, headers=headers, timeout=_timeout(deadline)) as reply:
                if reply.status_code == 204:
                    return  # the end was already received
                if reply.status_code != 200:
                    reply.read()
                    reply.raise_for_status()
                for sse in EventSource(reply).iter_sse():
                    if not sse.data:
                        # The `retry` advice (this reader keeps its own), or a keep-alive
                        # comment, which httpx-sse reports as an empty event once an id came.
                        continue
                    last_id = sse.id or last_id
                    yield Event(sse.event, sse.json(), last_id)
                    if sse.event == "end":
                        return
        except (httpx.TransportError, httpx.DecodingError):
            if attempt == RECONNECTS_MAX:
                raise
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not end in time")
        time.sleep(min(0.2 * 2**attempt, 5.0))
    raise ConnectionError(f"{path}: the stream kept closing before its end event")


def _timeout(deadline: float | None) -> httpx.Timeout:
    # The stream is quiet between changes (the server sends a keep-alive every 15 s).
    read = 60.0 if deadline is None else max(1.0, min(60.0, deadline - time.monotonic()))
    return httpx.Timeout(10.0, read=read)

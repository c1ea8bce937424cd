"""A Server-Sent Events reader over httpx: parse frames, reconnect with Last-Event-ID."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

RECONNECTS_MAX = 20


@dataclass(frozen=True)
class Event:
    name: str
    data: dict[str, Any]
    id: str | None


def parse(lines: Iterator[str]) -> Iterator[Event]:
    """Events from the lines of a stream (comments and `retry` are skipped)."""
    name, data, event_id = "message", [], None
    for line in lines:
        if not line:
            if data:
                yield Event(name, json.loads("\n".join(data)), event_id)
            name, data, event_id = "message", [], None
        elif line.startswith(":"):
            continue
        else:
            key, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if key == "event":
                name = value
            elif key == "data":
                data.append(value)
            elif key == "id":
                event_id = value


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
                for event in parse(reply.iter_lines()):
                    last_id = event.id or last_id
                    yield event
                    if event.name == "end":
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

"""One read of the database per interval for every event stream of an API process.

Each open stream watches a job or a sweep. Instead of each stream querying on its own timer
(N streams, N queries per interval), the hub's task reads the state of everything watched at
once (api/event_states.read_states: at most two queries) and hands each stream the snapshot of
what it watches. A stream only ever needs the newest state (it sends the difference to what it
sent), so each stream's queue holds one snapshot and a slow one skips states rather than
piling them up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api.event_states import Watched, read_states
from api.events import Snapshot

log = logging.getLogger(__name__)


class EventHub:
    def __init__(self, sessions: sessionmaker[Session], poll_s: float) -> None:
        self._sessions = sessions
        self._poll_s = poll_s
        self._queues: dict[Watched, set[asyncio.Queue[Snapshot | None]]] = {}
        self._task: asyncio.Task[None] | None = None
        self.polls = 0  # reads made so far: what one read per interval is checked against

    async def watch(self, watched: Watched) -> AsyncGenerator[Snapshot | None]:
        """The state of `watched` after each poll from now on (None once it is gone), until
        the caller closes this generator."""
        queue: asyncio.Queue[Snapshot | None] = asyncio.Queue(maxsize=1)
        self._queues.setdefault(watched, set()).add(queue)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._poll())
        try:
            while True:
                yield await queue.get()
        finally:
            queues = self._queues[watched]
            queues.discard(queue)
            if not queues:
                del self._queues[watched]

    async def _poll(self) -> None:
        """Runs while anything is watched."""
        while self._queues:
            await asyncio.sleep(self._poll_s)
            try:
                states = await run_in_threadpool(read_states, self._sessions, list(self._queues))
            except SQLAlchemyError:
                # The streams stay open and pick up where they were once the database answers.
                log.exception("event streams: reading the watched state failed; retrying")
                continue
            self.polls += 1
            for watched, state in states.items():
                for queue in self._queues.get(watched, ()):
                    if queue.full():
                        queue.get_nowait()  # an older state its stream has not taken yet
                    queue.put_nowait(state)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()

"""How `cli serve` keeps its children up: each one that exits is started again, with backoff, as
compose's `restart: unless-stopped` does, until the supervisor is told to stop.

The first restart of a child waits FIRST_DELAY_S, each further one in a row twice as long, up to
MAX_DELAY_S, so a child that cannot start (a port taken, a broken install) is retried without
spinning. A child that stayed up for STABLE_AFTER_S counts as healthy again: its next restart
waits FIRST_DELAY_S.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field

STOP_TIMEOUT_S = 15.0
POLL_INTERVAL_S = 0.2
FIRST_DELAY_S = 0.5
MAX_DELAY_S = 30.0
STABLE_AFTER_S = 60.0


@dataclass
class Child:
    name: str
    process: subprocess.Popen

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                print(f"serve: {self.name} did not stop in {timeout:.0f} s; killing it")
                self.process.kill()
        return self.process.wait()


def spawn(name: str, command: list[str], env: dict[str, str]) -> Child:
    # A session of its own: a terminal's Ctrl-C reaches only the supervisor, which stops the
    # children in order.
    return Child(name, subprocess.Popen(command, env=env, start_new_session=True))


def exit_status(returncode: int) -> str:
    """'SIGKILL' for a child killed by signal 9, 'status 1' for an exit."""
    if returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
    return f"status {returncode}"


@dataclass
class Supervised:
    """A child and its restart state; `tend` is called every POLL_INTERVAL_S."""

    child: Child
    env: dict[str, str]
    started_at: float = field(default_factory=time.monotonic)
    delay_s: float = FIRST_DELAY_S
    restart_at: float | None = None

    def tend(self, now: float) -> None:
        """Notice that the child exited (log it, schedule its restart), or restart it when due."""
        if self.restart_at is None:
            returncode = self.child.process.poll()
            if returncode is None:
                return
            up_s = now - self.started_at
            if up_s >= STABLE_AFTER_S:
                self.delay_s = FIRST_DELAY_S
            print(
                f"serve: {self.child.name} exited ({exit_status(returncode)}) after {up_s:.1f} s; "
                f"restarting it in {self.delay_s:g} s",
                flush=True,
            )
            self.restart_at = now + self.delay_s
            self.delay_s = min(2 * self.delay_s, MAX_DELAY_S)
        elif now >= self.restart_at:
            # The same command line: the worker keeps its Celery hostname, Redis its data dir.
            self.child = spawn(self.child.name, list(self.child.process.args), self.env)
            self.started_at = now
            self.restart_at = None
            print(f"serve: {self.child.name} restarted (pid {self.child.process.pid})", flush=True)


def supervise(children: list[Child], env: dict[str, str], stop: threading.Event) -> None:
    """Restart whichever child exits until `stop` is set, then stop them all in reverse order."""
    supervised = [Supervised(child, env) for child in children]
    while not stop.wait(POLL_INTERVAL_S):
        for entry in supervised:
            entry.tend(time.monotonic())
    for entry in reversed(supervised):
        entry.child.stop()

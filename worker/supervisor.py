"""One life of a run: its child process started, watched, asked to stop or killed, and what
became of it.

The worker process never trains: a run that segfaults, runs out of memory or is killed takes
only its child with it. Stop requests (cancel, delete, time limit, shutdown) act on the child
itself: it is asked to stop at the end of its step and, if a single step outlasts
`stop_grace_s`, killed; so a stop takes effect within about a second whatever the run does.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import signal
import threading
import time
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from jobs import store
from jobs.settings import Settings
from worker.run_child import Channels, child_main

log = logging.getLogger(__name__)
WATCH_INTERVAL_S = 0.1
# A warm shutdown gives the run time to finish its step and store a checkpoint.
SHUTDOWN_GRACE_S = 10.0
# The spawn context starts a fresh interpreter: nothing (CUDA state included) is inherited.
SPAWN = multiprocessing.get_context("spawn")


@dataclass
class Life:
    """How one child ended. `ending` is the child's last message kind ("result", "refused",
    "error", "out_of_memory", "fenced"), or "killed" (by us, for `stop_reason`), or "crashed"."""

    ending: str
    detail: Any = None
    facts: dict[str, Any] | None = None
    stop_reason: str | None = None  # "cancelled", "gone", "time limit", "shutdown"
    exitcode: int | None = None
    step: int = 0  # the training step the child was in (or about to start) when it ended
    peak_rss_bytes: int | None = None
    wall_time_s: float = 0.0
    messages: list[tuple] = field(default_factory=list)


def peak_rss(pid: int) -> int | None:
    """The process's peak resident memory so far (Linux VmHWM), None where unknown."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


@dataclass(frozen=True)
class Attempt:
    """One attempt (a claim) of a job, and where its state lives."""

    job_id: str
    number: int  # the job's `attempts` when it was claimed: fences every write of this run
    settings: Settings
    sessions: sessionmaker[Session]


class Watch:
    """The stop conditions the parent checks while its child trains."""

    def __init__(self, attempt: Attempt, shutdown: threading.Event, deadline: float) -> None:
        self.attempt, self.shutdown, self.deadline = attempt, shutdown, deadline
        self.check_interval = attempt.settings.cancel_check_interval_s
        self.next_check = 0.0

    def reason(self) -> str | None:
        if self.shutdown.is_set():
            return "shutdown"
        now = time.monotonic()
        if now >= self.deadline:
            return "time limit"
        if now < self.next_check:
            return None
        self.next_check = now + self.check_interval
        with self.attempt.sessions() as session:
            return store.stop_reason(session, self.attempt.job_id, self.attempt.number)


@dataclass
class RunProcess:
    """A started run process waiting for its job, and the worker's ends of its pipes."""

    process: multiprocessing.Process
    channels: Channels  # the worker sends on channels.jobs
    reports: Connection  # the worker's end of channels.reports


_spare: RunProcess | None = None
_spare_lock = threading.Lock()


def _start_run_process() -> RunProcess:
    jobs_in, jobs_out = SPAWN.Pipe(duplex=False)
    reports_in, reports_out = SPAWN.Pipe(duplex=False)
    channels = Channels(
        jobs=jobs_in,
        reports=reports_out,
        stop=SPAWN.Event(),
        checkpoint_now=SPAWN.Event(),
        current_step=SPAWN.Value("q", -1, lock=False),
    )
    process = SPAWN.Process(target=child_main, args=(channels,), name="gradflow-spare", daemon=True)
    process.start()
    # The child holds the only copies of its ends now: EOF on reports means it is gone.
    jobs_in.close()
    reports_out.close()
    return RunProcess(process, replace(channels, jobs=jobs_out), reports_in)


@atexit.register
def _discard_spare() -> None:
    # Before the semaphores it shares with this process go: a spare half-way through its
    # start-up would otherwise fail loudly to attach to them.
    if _spare is not None:
        _spare.process.kill()


def prepare_run_process() -> None:
    """Start the process the next job will run in, unless one is waiting already."""
    global _spare
    with _spare_lock:
        if _spare is None or not _spare.process.is_alive():
            _spare = _start_run_process()


def take_run_process() -> RunProcess:
    """The waiting run process (or a new one); a new one is not started in its place here."""
    global _spare
    with _spare_lock:
        run, _spare = _spare, None
    if run is None or not run.process.is_alive():
        run = _start_run_process()
    return run


def live(attempt: Attempt, shutdown: threading.Event, deadline: float) -> Life:
    """Run one child for the job until it ends, and say how it ended."""
    settings = attempt.settings
    run = take_run_process()
    run.process.name = f"gradflow-run-{attempt.job_id[:8]}"
    log.info("job %s runs in process %d", attempt.job_id, run.process.pid)
    started = time.monotonic()
    run.channels.jobs.send((attempt.job_id, attempt.number, settings.model_dump()))
    run.channels.jobs.close()
    child, parent_end = run.process, run.reports
    stop, checkpoint_now = run.channels.stop, run.channels.checkpoint_now
    watch = Watch(attempt, shutdown, deadline)
    life = Life(ending="crashed")
    asked_at, closed = None, False
    while not closed:
        if parent_end.poll(WATCH_INTERVAL_S):
            try:
                life.messages.append(parent_end.recv())
            except EOFError:  # the child is gone (its end of the pipe closed with it)
                closed = True
            if life.messages and life.messages[-1][0] == "facts":
                # Past its start-up: the next job's process may import torch beside it now.
                prepare_run_process()
        reported = any(message[0] != "facts" for message in life.messages)
        life.peak_rss_bytes = peak_rss(child.pid) or life.peak_rss_bytes
        if life.stop_reason is None:
            life.stop_reason = watch.reason()
            if life.stop_reason is not None:
                asked_at = time.monotonic()
                if life.stop_reason == "shutdown":
                    checkpoint_now.set()
                stop.set()
        if asked_at is not None and child.is_alive() and not reported:
            grace = SHUTDOWN_GRACE_S if life.stop_reason == "shutdown" else settings.stop_grace_s
            if time.monotonic() - asked_at > grace:
                child.kill()
                life.ending = "killed"
    child.join()
    parent_end.close()
    life.exitcode, life.step = child.exitcode, max(run.channels.current_step.value, 0)
    life.wall_time_s = time.monotonic() - started
    for message in life.messages:
        if message[0] == "facts":
            life.facts = message[1]
        elif life.ending != "killed":
            life.ending, life.detail = message[0], message[1] if len(message) > 1 else None
    return life


def describe_crash(life: Life) -> str:
    """The child's death in words a user understands."""
    code = life.exitcode or 0
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        cause = f"killed by signal {-code} ({name})"
    else:
        cause = f"exited with status {code} without reporting"
    memory = ""
    if life.peak_rss_bytes:
        memory = f" after reaching {life.peak_rss_bytes / 2**30:.1f} GiB"
    text = f"the run was {cause} at step {life.step}{memory}"
    if code in (-signal.SIGKILL, -signal.SIGSEGV, -signal.SIGBUS, -signal.SIGABRT):
        text += (
            ": most likely out of memory (or a crash inside torch); ask for a smaller "
            "batch_size, seq_len or hidden_size"
        )
    return text

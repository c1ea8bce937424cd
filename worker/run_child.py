"""The process one run trains in, started by the worker with `spawn` (never `fork`: CUDA state
must not be copied) and supervised by it (worker/supervisor.py).

The child stores what the run records as it comes (trace slices, progress, checkpoints), each
write fenced by the attempt it runs, and tells its parent over a pipe how the run ended. It
never changes the job's status: the parent does, whatever happens to the child.
"""

from __future__ import annotations

import ctypes
import logging
import resource
import signal
import sys
import time
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event

from sqlalchemy.orm import Session, sessionmaker

import gradcore
from gradcore.checkpoint import Checkpoint
from gradcore.hooks import Resume, RunFacts, RunHooks
from gradcore.result import Progress
from gradcore.slices import TraceSlice
from gradcore.spec import ExperimentSpec
from gradcore.tasks import needs_dataset
from jobs import checkpoints, store, traces
from jobs.datasets import load_image_set
from jobs.db import make_engine
from jobs.settings import Settings
from worker.throttle import Throttle
from worker.torch_threads import apply_torch_threads

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """A worker killed with SIGKILL cannot stop its run: let the kernel do it (Linux)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class RunLife:
    """The callbacks of one run in this process: everything gradcore calls between steps."""

    def __init__(self, job_id: str, attempt: int, settings: Settings, channels: Channels) -> None:
        self.job_id, self.attempt, self.pipe = job_id, attempt, channels.reports
        self.sessions = _sessions(settings)
        self.stop, self.checkpoint_now = channels.stop, channels.checkpoint_now
        self.current_step = channels.current_step
        self.progress_due = Throttle(settings.progress_interval_s)
        self.checkpoint_interval_s = settings.checkpoint_interval_s
        self.last_checkpoint = time.monotonic()
        self.fenced = False  # this attempt is no longer the job's run: stop, store nothing

    def should_stop(self) -> bool:
        # Polled once before every training step.
        self.current_step.value += 1
        return self.fenced or self.stop.is_set()

    def on_start(self, facts: RunFacts) -> None:
        self.pipe.send(("facts", asdict(facts)))

    def on_traces(self, part: TraceSlice) -> None:
        with self.sessions() as session:
            self.fenced |= not traces.append_slice(session, self.job_id, self.attempt, part)

    def on_progress(self, progress: Progress) -> None:
        if self.progress_due.due() or progress.step == progress.total:
            with self.sessions() as session:
                store.record_progress(session, self.job_id, progress)

    def checkpoint_due(self) -> bool:
        elapsed = time.monotonic() - self.last_checkpoint
        return self.checkpoint_now.is_set() or elapsed >= self.checkpoint_interval_s

    def on_checkpoint(self, checkpoint: Checkpoint) -> None:
        data = checkpoint.to_bytes()
        with self.sessions() as session:
            saved = checkpoints.save(session, self.job_id, self.attempt, checkpoint.step, data)
        self.fenced |= not saved
        self.checkpoint_now.clear()
        self.last_checkpoint = time.monotonic()

    def resume(self, spec: ExperimentSpec) -> Resume | None:
        """The stored checkpoint and the traces before it; later traces are dropped (this run
        records them again). No checkpoint: a clean start, without an earlier attempt's
        traces."""
        with self.sessions() as session:
            row = checkpoints.load(session, self.job_id)
            start = row.step if row is not None else 0
            self.fenced |= not traces.truncate_after(session, self.job_id, start - 1, self.attempt)
            if row is None:
                return None
            stored = traces.load_traces(session, self.job_id)
        if stored is None:  # a checkpoint always follows stored traces; never resume blind
            return None
        self.current_step.value = start - 1
        return Resume(Checkpoint.from_bytes(row.data), stored)


def _sessions(settings: Settings) -> sessionmaker[Session]:
    return sessionmaker(make_engine(settings), expire_on_commit=False)


@dataclass(frozen=True)
class Channels:
    """What a run process shares with the worker: the job it is given, how it ended, the stop
    and checkpoint requests, and the training step it is in."""

    jobs: Connection  # worker -> child: (job_id, attempt, settings fields), once
    reports: Connection  # child -> worker: ("facts", ...), then how the run ended
    stop: Event
    checkpoint_now: Event
    current_step: Synchronized


def child_main(channels: Channels) -> None:
    """The child's entry point. Started ahead of its job (torch is imported by then), it waits
    for the job, trains its run and reports how it ended."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is for the worker
    try:
        job_id, attempt, settings_fields = channels.jobs.recv()
    except EOFError:  # the worker stopped before it had a job for this process
        return
    settings = Settings(**settings_fields)  # the parent's, not re-read from the environment
    if settings.run_address_space_bytes:
        cap = settings.run_address_space_bytes
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    apply_torch_threads(settings.torch_threads)
    life = RunLife(job_id, attempt, settings, channels)
    try:
        with life.sessions() as session:
            spec = ExperimentSpec.model_validate(store.get_job(session, job_id).spec)
        datasets = {}
        if needs_dataset(spec.task):
            datasets = load_image_set(settings.data_dir, spec.dataset)
        result = gradcore.run(
            spec,
            on_progress=life.on_progress,
            should_stop=life.should_stop,
            datasets=datasets,
            hooks=RunHooks(
                on_start=life.on_start,
                on_traces=life.on_traces,
                traces_every_s=settings.traces_interval_s,
                checkpoint_due=life.checkpoint_due,
                on_checkpoint=life.on_checkpoint,
            ),
            resume=life.resume(spec),
        )
    except ValueError as exc:
        channels.reports.send(("refused", str(exc)))
        return
    except MemoryError as exc:
        channels.reports.send(("out_of_memory", str(exc) or "MemoryError"))
        return
    except Exception as exc:
        log.exception("job %s: the run failed", job_id)
        kind = "out_of_memory" if _out_of_memory(exc) else "error"
        channels.reports.send((kind, f"{type(exc).__name__}: {exc}"))
        return
    ending = ("fenced",) if life.fenced else ("result", result.summary.model_dump(mode="json"))
    channels.reports.send(ending)


def _out_of_memory(exc: Exception) -> bool:
    text = str(exc).lower()
    return any(sign in text for sign in ("out of memory", "can't allocate memory", "not enough"))

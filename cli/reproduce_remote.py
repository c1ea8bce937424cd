"""`reproduce --server URL`: start each chosen reproduction on a service (its workers run the
sweeps), follow them, and print the verdicts the service decides with the same predicates."""

from __future__ import annotations

import sys
import time
from typing import Any

from cli.remote import answer
from cli.reproduce import minutes, show_verdict
from gradcore.reproductions import Reproduction
from gradflow_client import Client


def reproduce_remote(
    url: str, api_key: str | None, chosen: list[Reproduction], scale: str, seeds: int
) -> int:
    """All chosen runs are started first, so the workers can take them in parallel."""
    started = time.monotonic()
    with Client(url, api_key) as client:
        runs = [answer(lambda r=r: client.reproduce(r.name, scale, seeds)) for r in chosen]
        for run in runs:
            print(f"{run['name']}: run {run['id']}, sweeps {', '.join(run['sweeps'])}", flush=True)
        passed = [
            _follow(client, r, run, scale, seeds) for r, run in zip(chosen, runs, strict=True)
        ]
    print(f"{sum(passed)} of {len(chosen)} passed in {minutes(started)}")
    return 0 if all(passed) else 1


def _follow(
    client: Client, reproduction: Reproduction, run: dict[str, Any], scale: str, seeds: int
) -> bool:
    def progress(counts: dict[str, Any]) -> None:
        print(f"  {run['name']}: {counts['done']} of {counts['size']} done", file=sys.stderr)

    verdict = answer(lambda: client.wait_reproduction(run["id"], progress))
    measured = verdict["reason"] if verdict["status"] == "undecided" else verdict["measured"]
    show_verdict(
        reproduction, f"{scale}, {seeds} seeds, on the server", verdict["passed"], measured
    )
    return verdict["passed"] is True

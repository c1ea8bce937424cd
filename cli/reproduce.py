"""`python -m cli reproduce NAME|all [--scale cpu|paper] [--seeds N] [--server URL]`: run
reproductions of the gallery here, or on a service's workers with `--server`, and print each
verdict; `--list` names them. Exits 1 if any claim fails (or, on a server, is undecided)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import gradcore
from gradcore.reproductions import REPRODUCTIONS, SCALES, SEEDS, Reproduction, check, specs
from gradcore.result import ExperimentResult
from gradcore.spec import ExperimentSpec


def add_reproduce_command(commands: argparse._SubParsersAction) -> None:
    reproduce = commands.add_parser(
        "reproduce", help="run classic results as checked claims here and print the verdicts"
    )
    reproduce.add_argument("name", nargs="?", help=f"one of {', '.join(REPRODUCTIONS)}, or all")
    reproduce.add_argument("--scale", choices=SCALES, default="cpu")
    reproduce.add_argument("--seeds", type=int, default=SEEDS, help="seeds 0 .. N-1 (default 3)")
    reproduce.add_argument("--list", action="store_true", help="list the reproductions")
    reproduce.add_argument(
        "--server", help="run on this service's workers instead (e.g. http://127.0.0.1:8000)"
    )
    reproduce.add_argument(
        "--api-key",
        default=os.environ.get("GRADFLOW_API_KEY"),
        help="with --server: sent as a Bearer token (default: GRADFLOW_API_KEY)",
    )


def run_reproduce(args: argparse.Namespace) -> int:
    if args.list:
        for reproduction in REPRODUCTIONS.values():
            print(f"{reproduction.name}: {reproduction.claim} ({reproduction.citation})")
        return 0
    if args.name != "all" and args.name not in REPRODUCTIONS:
        raise SystemExit(f"reproduce: name one of {', '.join(REPRODUCTIONS)}, or all (--list)")
    if args.seeds < 1:
        raise SystemExit("reproduce: --seeds is at least 1")
    chosen = list(REPRODUCTIONS.values()) if args.name == "all" else [REPRODUCTIONS[args.name]]
    if args.server:
        from cli.reproduce_remote import reproduce_remote

        return reproduce_remote(args.server, args.api_key, chosen, args.scale, args.seeds)
    started = time.monotonic()
    # Runs are seeded, so a spec two reproductions share (the adding table and the IRNN's) is
    # run once: {spec JSON: result}.
    results: dict[str, ExperimentResult] = {}
    failed = [r.name for r in chosen if not _reproduce(r, args.scale, args.seeds, results)]
    print(f"{len(chosen) - len(failed)} of {len(chosen)} passed in {minutes(started)}")
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


def _reproduce(
    reproduction: Reproduction, scale: str, seeds: int, results: dict[str, ExperimentResult]
) -> bool:
    total = sum(len(point) for point in specs(reproduction, scale, seeds))
    done = 0
    started = time.monotonic()

    def run(spec: ExperimentSpec) -> ExperimentResult:
        nonlocal done
        done += 1
        print(f"  {reproduction.name}: run {done} of {total}", file=sys.stderr, flush=True)
        key = spec.model_dump_json()
        if key not in results:
            results[key] = gradcore.run(spec)
        return results[key]

    verdict = check(reproduction, scale, seeds, run)
    show_verdict(reproduction, f"{scale}, {seeds} seeds, {minutes(started)}", verdict.passed,
                 verdict.measured)  # fmt: skip
    return verdict.passed


def show_verdict(reproduction: Reproduction, how: str, passed: bool | None, measured: Any) -> None:
    """Print the verdict: PASS, FAIL, or (passed None) UNDECIDED with why in `measured`."""
    word = "UNDECIDED" if passed is None else "PASS" if passed else "FAIL"
    print(
        f"{reproduction.name} ({how}): {word}\n"
        f"  claim:    {reproduction.claim} ({reproduction.citation})\n"
        f"  expected: {reproduction.expected}\n"
        f"  measured: {measured}",
        flush=True,
    )


def minutes(started: float) -> str:
    seconds = time.monotonic() - started
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"

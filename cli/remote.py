"""`submit`, `watch` and `results`: the command line against a running service."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from gradflow_client import Client, GradflowError, Status, Traces
from jobs.statuses import FINAL_STATUSES, JobStatus

T = TypeVar("T")
# What a watched run's lines show: loss, gradient norm, horizon.
END_FIELDS = "loss,grad_norm,hidden_grad"
REMOTE_COMMANDS: dict[str, str] = {
    "submit": "submit a spec JSON to the service and print the experiment's id",
    "watch": "show an experiment's loss, gradient norm and horizon as it trains; exit 0 if it "
    "succeeded",
    "results": "print an experiment's results (JSON, or CSV with --csv)",
}


def add_remote_commands(commands: argparse._SubParsersAction) -> None:
    """The subcommands that talk to a service over HTTP."""
    for name, help_text in REMOTE_COMMANDS.items():
        command = commands.add_parser(name, help=help_text)
        command.add_argument(
            "--url",
            default=os.environ.get("GRADFLOW_URL", "http://127.0.0.1:8000"),
            help="the service (default: GRADFLOW_URL or http://127.0.0.1:8000)",
        )
        command.add_argument(
            "--api-key",
            default=os.environ.get("GRADFLOW_API_KEY"),
            help="sent as a Bearer token (default: GRADFLOW_API_KEY)",
        )
        if name == "submit":
            command.add_argument("spec", type=Path, help="experiment spec JSON (the POST body)")
            command.add_argument("--watch", action="store_true", help="then watch it")
        else:
            command.add_argument("id", help="the experiment's id")
        if name == "results":
            command.add_argument("--fields", help="comma list, e.g. loss,summary (default: all)")
            command.add_argument("--csv", action="store_true", help="tidy CSV instead of JSON")
            command.add_argument("-o", "--output", type=Path, help="file (default: stdout)")


def run_remote(args: argparse.Namespace) -> int:
    with Client(args.url, args.api_key) as client:
        if args.command == "submit":
            return submit(client, args.spec, args.watch)
        if args.command == "watch":
            return watch(client, args.id)
        return results(client, args.id, args.fields, args.csv, args.output)


def submit(client: Client, spec_path: Path, watch_after: bool) -> int:
    # The service validates the spec and names any bad field; no need to load the engine here.
    try:
        spec = json.loads(spec_path.read_text())
    except (OSError, ValueError) as exc:
        raise SystemExit(f"gradflow: cannot read {spec_path}: {exc}") from exc
    job = answer(lambda: client.submit(spec))
    print(job["id"])
    return watch(client, job["id"]) if watch_after else 0


def watch(client: Client, experiment_id: str) -> int:
    """A line per stored batch of traces until the experiment ends (for one that has ended, its
    last line at once); exit 0 if it succeeded."""
    job = answer(lambda: client.get(experiment_id))
    total = job["progress"]["total"]
    if job["status"] in FINAL_STATUSES:
        _show_end(client, experiment_id, job["status"], total)
    else:
        answer(lambda: _show_training(client, experiment_id, total))
        job = answer(lambda: client.get(experiment_id))
    summary = job.get("summary") or {}
    final_loss = summary.get("final_loss")
    print(
        f"watch: {experiment_id} {job['status']}"
        + (f", final loss {final_loss:.4g}" if final_loss is not None else "")
        + (f": {job['error']}" if job.get("error") else ""),
        file=sys.stderr,
    )
    # The exit status tells scripts whether it succeeded.
    return 0 if job["status"] == JobStatus.succeeded else 1


def _show_training(client: Client, experiment_id: str, total: int) -> None:
    """Prints status changes and, each time traces are stored, the latest loss, gradient norm
    and gradient horizon (per layer, at the last probe)."""
    latest: dict[str, Any] = {}
    for event in client.follow(experiment_id):
        if isinstance(event, Status):
            print(f"status {event.status}", flush=True)
        elif isinstance(event, Traces) and _advance(latest, event.data):
            _print_step(latest, total)


def _show_end(client: Client, experiment_id: str, status: str, total: int) -> None:
    """An ended run's last line and status, from its stored traces' last entries (a run that
    failed before storing any has none)."""
    latest: dict[str, Any] = {}
    try:
        stored = client.results(experiment_id, fields=END_FIELDS, max_points=2)
    except GradflowError:
        stored = {}
    if _advance(latest, stored):
        _print_step(latest, total)
    print(f"status {status}", flush=True)


def _print_step(latest: dict[str, Any], total: int) -> None:
    if "step" in latest:
        horizon = ",".join(map(str, latest.get("horizon", []))) or "-"
        print(
            f"step {latest['step']}/{total}  loss {_number(latest['loss'])}  "
            f"grad norm {_number(latest['grad_norm'])}  horizon {horizon}",
            flush=True,
        )


def _advance(latest: dict[str, Any], traces: dict[str, Any]) -> bool:
    """Updates `latest` from a trace slice; False when the slice brings nothing it shows."""
    loss, grad, hidden = traces.get("loss"), traces.get("grad_norm"), traces.get("hidden_grad")
    probed = bool(hidden and hidden["horizon"])
    if probed:
        latest["horizon"] = hidden["horizon"][-1]
    if not (loss and loss["step"] and grad):
        return probed
    latest.update(step=loss["step"][-1] + 1, loss=loss["loss"][-1], grad_norm=grad["total"][-1])
    return True


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def results(
    client: Client, experiment_id: str, fields: str | None, as_csv: bool, output: Path | None
) -> int:
    if as_csv:
        text = answer(lambda: client.results_csv(experiment_id, fields=fields))
    else:
        text = json.dumps(answer(lambda: client.results(experiment_id, fields=fields)))
    if output is None:
        sys.stdout.write(text if as_csv else text + "\n")
    else:
        output.write_text(text)
    return 0


def answer(call: Callable[[], T]) -> T:
    """The API's answer, or an exit with the server's explanation."""
    try:
        return call()
    except GradflowError as exc:
        raise SystemExit(f"gradflow: {exc}") from exc
    except httpx.TransportError as exc:
        raise SystemExit(f"gradflow: cannot reach the service: {exc}") from exc

"""Command line: `serve` runs the service, `run` one experiment here; `submit`, `watch` and
`results` talk to a running service."""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.compose_gpus import add_compose_gpus_command, print_gpu_override
from cli.datasets import add_datasets_command, run_datasets
from cli.keys import add_keys_command, run_keys
from cli.remote import REMOTE_COMMANDS, add_remote_commands, run_remote
from cli.reproduce import add_reproduce_command, run_reproduce
from jobs.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gradflow", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "serve",
        help="API, one worker and (unless REDIS_URL is set) an embedded Redis; Ctrl-C stops",
        description="Configured by environment variables; see docs/operations.md.",
    )
    run = commands.add_parser("run", help="run one spec here and write its result JSON")
    run.add_argument("spec", type=Path, help="experiment spec JSON (the API's POST body)")
    run.add_argument("-o", "--output", type=Path, help="result JSON file (default: stdout)")
    run.add_argument(
        "--data-dir", type=Path, help="holds datasets/<name>/ (default: GRADFLOW_DATA_DIR)"
    )
    alive = commands.add_parser("worker-alive", help="exit 0 if the named worker beat recently")
    alive.add_argument("name", help="the worker's Celery hostname, e.g. gradflow@HOST")
    commands.add_parser("reference", help="print docs/reference.md: every spec and result field")
    add_keys_command(commands)
    add_datasets_command(commands)
    add_compose_gpus_command(commands)
    add_reproduce_command(commands)
    add_remote_commands(commands)
    args = parser.parse_args(argv)
    settings = Settings()
    # Imported per command, so that each loads only what it uses.
    if args.command == "serve":
        from cli.serve import serve

        return serve(settings)
    if args.command in REMOTE_COMMANDS:
        return run_remote(args)
    if args.command == "reproduce":
        return run_reproduce(args)
    if args.command == "keys":
        return run_keys(args, settings)
    if args.command == "datasets":
        return run_datasets(args, settings.data_dir)
    if args.command == "compose-gpus":
        return print_gpu_override(args.gpus)
    if args.command == "reference":
        from cli.reference import main as print_reference

        print_reference()
        return 0
    if args.command == "worker-alive":
        from cli.heartbeat import worker_alive

        return worker_alive(settings, args.name)
    from cli.run_local import run_spec

    return run_spec(args.spec, args.output, args.data_dir or settings.data_dir)


if __name__ == "__main__":
    raise SystemExit(main())

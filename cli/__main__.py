"""Command line: `python -m cli serve` runs the service, `python -m cli run` one experiment."""

from __future__ import annotations

import argparse
from pathlib import Path

from api.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gradflow", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "serve",
        help="API, one worker and (unless REDIS_URL is set) an embedded Redis; Ctrl-C stops",
        description="Configured by environment variables; see the README's configuration table.",
    )
    run = commands.add_parser("run", help="run one spec here and write its result JSON")
    run.add_argument("spec", type=Path, help="experiment spec JSON (the API's POST body)")
    run.add_argument("-o", "--output", type=Path, help="result JSON file (default: stdout)")
    run.add_argument(
        "--data-dir", type=Path, help="holds datasets/<name>/ (default: GRADFLOW_DATA_DIR)"
    )
    args = parser.parse_args(argv)
    settings = Settings()
    if args.command == "serve":
        from cli.serve import serve

        return serve(settings)
    from cli.run_local import run_spec

    return run_spec(args.spec, args.output, args.data_dir or settings.data_dir)


if __name__ == "__main__":
    raise SystemExit(main())

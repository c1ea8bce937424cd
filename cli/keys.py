"""`python -m cli keys create NAME | revoke ID | list`: the API keys in the service's database.

Run where the API's DATABASE_URL points (in compose: `docker compose exec api python -m cli
keys create NAME`). The first key turns authentication on for every API process at once.
"""

from __future__ import annotations

import argparse

from jobs.settings import Settings


def add_keys_command(commands: argparse._SubParsersAction) -> None:
    keys = commands.add_parser("keys", help="create, revoke and list API keys")
    actions = keys.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="make a key and print its token (shown once)")
    create.add_argument("name", help="who or what uses the key, e.g. alice-laptop")
    revoke = actions.add_parser("revoke", help="revoke a key: its token stops working at once")
    revoke.add_argument("id", help="the key's id, as `keys list` shows it")
    actions.add_parser("list", help="every key: id, name, created, revoked")


def run_keys(args: argparse.Namespace, settings: Settings) -> int:
    from jobs import keys
    from jobs.db import init_db, make_engine

    engine = make_engine(settings)
    try:
        with init_db(engine)() as session:
            if args.action == "create":
                key, token = keys.create_key(session, args.name[:100])
                print(f"key {key.id} ({key.name}) created; its token, shown this once:")
                print(token)
                return 0
            if args.action == "revoke":
                if keys.revoke_key(session, args.id):
                    print(f"key {args.id} revoked")
                    return 0
                print(f"no active key {args.id}; `python -m cli keys list` shows them")
                return 1
            for key in keys.list_keys(session):
                revoked = key.revoked_at.isoformat(timespec="seconds") if key.revoked_at else "-"
                print(f"{key.id}  {key.created_at:%Y-%m-%d %H:%M}  revoked: {revoked}  {key.name}")
            return 0
    finally:
        engine.dispose()

"""A transaction that begins with a named lock, so that another process doing the same waits
until it commits or rolls back: how migrations and admissions keep two processes from both
acting on what they read before either wrote.

PostgreSQL: a transaction-scoped advisory lock on the name, so other names go on in parallel.
SQLite: its write lock, taken at once (`BEGIN IMMEDIATE`) rather than at the first write;
SQLite has no finer lock. Other databases SQLAlchemy reaches run unlocked.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session


def begin_locked(target: Connection | Session, name: str) -> None:
    """Call first in a transaction: hold the lock `name` until the transaction ends."""
    dialect = target.get_bind().dialect if isinstance(target, Session) else target.dialect
    if dialect.name == "postgresql":
        target.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(name)})
    elif dialect.name == "sqlite":
        target.execute(text("BEGIN IMMEDIATE"))


def _lock_key(name: str) -> int:
    # Advisory locks are named by a signed 64-bit integer; names whose hashes collide only wait
    # on each other.
    digest = hashlib.sha256(f"gradflow:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)

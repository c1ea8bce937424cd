"""The machine's PostgreSQL for tests: a schema of their own per use, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

POSTGRES_URL = os.environ.get(
    "GRADFLOW_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def postgres_reachable() -> bool:
    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=2).close()
    except psycopg.Error:
        return False
    return True


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh schema, dropped afterwards."""
    name = f"gradflow_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {name}")
        yield name
        connection.execute(f"DROP SCHEMA {name} CASCADE")


def schema_url(schema: str) -> str:
    # libpq's `options` sets the search path, so the service's tables land in the schema.
    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"

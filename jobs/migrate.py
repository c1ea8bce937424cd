"""Bring a database made by an earlier version up to date, at every start, idempotently.

The API and the worker start together and both run this; every step tolerates the other
having done it first (init_db retries a step that lost a race).
"""

from __future__ import annotations

import json
import logging

from sqlalchemy import Engine, MetaData, Table, delete, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from jobs.traces import store_slice

log = logging.getLogger(__name__)

# Columns added to `jobs` after its first release: name -> SQL type (SQLite and PostgreSQL).
JOB_COLUMNS: dict[str, str] = {
    "trace_step": "INTEGER",
    "trace_probes": "INTEGER NOT NULL DEFAULT 0",
    "trace_meta": "JSON",
    "checkpoint_step": "INTEGER",
    "resumes": "JSON",
    "last_crash": "JSON",
}
LEGACY_RESULTS = "job_results"


def add_job_columns(engine: Engine) -> None:
    present = {column["name"] for column in inspect(engine).get_columns("jobs")}
    with engine.begin() as connection:
        for name, sql_type in JOB_COLUMNS.items():
            if name not in present:
                connection.execute(text(f"ALTER TABLE jobs ADD COLUMN {name} {sql_type}"))


def convert_legacy_results(engine: Engine, sessions: sessionmaker[Session]) -> None:
    """Results stored whole by earlier versions (one JSON document per job in job_results)
    move to the trace tables, one transaction per result; the table goes once empty."""
    if not inspect(engine).has_table(LEGACY_RESULTS):
        return
    legacy = Table(LEGACY_RESULTS, MetaData(), autoload_with=engine)
    converted = 0
    while True:
        with sessions() as session:
            row = session.execute(select(legacy.c.job_id, legacy.c.document).limit(1)).first()
            if row is None:
                break
            document = row.document
            if isinstance(document, str | bytes):
                document = json.loads(document)
            # Deleted in the same transaction as the traces are stored: exactly one of two
            # processes converting at once finds the row to delete, and the other stops there.
            taken = session.execute(delete(legacy).where(legacy.c.job_id == row.job_id)).rowcount
            slice_ = {key: value for key, value in document.items() if key != "summary"}
            if taken != 1 or not store_slice(session, row.job_id, slice_):
                session.commit()
                continue
            converted += 1
    if converted:
        log.info(
            "moved %d results stored whole by an earlier version to the trace tables", converted
        )
    legacy.drop(engine, checkfirst=True)

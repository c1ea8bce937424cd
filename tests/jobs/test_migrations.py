"""The schema's revisions (jobs/migrations/): a new database reaches the models' schema, and a
database made by the last release before revisions is upgraded with its results moved into the
trace tables, also by the API and a worker starting at the same moment, on SQLite and
PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, Text, insert, inspect, select
from sqlalchemy.orm import Session

import gradcore
from gradcore.result import ExperimentResult
from jobs.db import init_db, make_engine
from jobs.migrate import alembic_config, locked_transaction
from jobs.models import Base, Job, JobCheckpoint
from jobs.settings import Settings
from jobs.trace_read import load_traces, read_view
from tests.jobs import previous_release_models as previous
from tests.support.specs import TINY_SPEC
from tests.support.traces import traces_of
from tests.support.waits import scaled

BOTH = pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


@pytest.fixture(scope="module")
def trained() -> ExperimentResult:
    return gradcore.run(gradcore.ExperimentSpec(**TINY_SPEC))


@pytest.fixture
def settings(tmp_path: Path, database: str | None) -> Settings:
    return Settings(data_dir=tmp_path, database_url=database)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings)
    yield engine
    engine.dispose()  # before the schema is dropped


def made_by_previous_release(engine: Engine, trained: ExperimentResult) -> tuple[str, str]:
    """The previous release's tables with a finished job (its result stored whole, as that
    release's store.finish_job wrote it) and a queued one; their ids."""
    previous.Base.metadata.create_all(engine)
    spec = gradcore.ExperimentSpec(**TINY_SPEC).model_dump(mode="json")
    jobs = {
        status: previous.Job(
            id=f"{status}-job",
            status=status,
            cell=spec["cell"],
            task=spec["task"],
            spec=spec,
            progress_total=spec["steps"],
        )
        for status in ("succeeded", "queued")
    }
    finished = jobs["succeeded"]
    finished.summary = trained.summary.model_dump(mode="json")
    finished.progress_step = trained.summary.steps_completed
    with Session(engine, expire_on_commit=False) as session:
        session.add_all(jobs.values())
        session.flush()
        session.add(
            previous.JobResult(job_id=finished.id, document=trained.model_dump(mode="json"))
        )
        session.commit()
    return finished.id, jobs["queued"].id


def differences(engine: Engine) -> list:
    """What autogenerate would write to bring the database to the models: nothing, at head."""
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)


def revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@BOTH
def test_a_new_database_is_made_by_the_revisions_and_matches_the_models(engine: Engine) -> None:
    init_db(engine)
    assert revision(engine) == HEAD
    assert differences(engine) == []


@BOTH
def test_a_database_of_the_previous_release_is_upgraded(
    engine: Engine, trained: ExperimentResult
) -> None:
    finished, queued = made_by_previous_release(engine, trained)
    assert revision(engine) is None

    sessions = init_db(engine)
    assert revision(engine) == HEAD
    assert differences(engine) == []
    assert not inspect(engine).has_table("job_results")
    document = trained.model_dump(mode="json")
    with sessions() as session:
        assert load_traces(session, finished) == traces_of(document)
        assert ExperimentResult.model_validate(read_view(session, finished)) == trained
        job = session.get(Job, finished)
        assert (job.status, job.summary, job.resumes) == ("succeeded", document["summary"], [])
        assert job.trace_step == trained.summary.steps_completed - 1
        # The numbers lists sort by, copied out of the stored summary.
        summary = trained.summary
        assert (job.final_loss, job.eval_metric, job.steps_per_second) == (
            summary.final_loss, summary.eval_metric, summary.steps_per_second
        )  # fmt: skip
        assert job.horizon == summary.gradient_horizon[-1][-1]
        assert (job.name, job.notes, job.tags) == (None, None, [])
        assert session.get(Job, queued).final_loss is None
        assert load_traces(session, queued) is None
        assert session.get(Job, queued).trace_probes == 0

    # A second start finds nothing to do.
    init_db(engine)
    with sessions() as session:
        assert load_traces(session, finished) == traces_of(document)


def test_a_revision_that_copies_a_table_on_sqlite_keeps_the_rows_referencing_it(
    engine: Engine, trained: ExperimentResult
) -> None:
    """SQLite alters most things by copying the table and dropping the original (alembic's
    batch mode); dropping `jobs` must not cascade to its traces."""
    finished, _ = made_by_previous_release(engine, trained)
    sessions = init_db(engine)
    with locked_transaction(engine) as connection:
        operations = Operations(MigrationContext.configure(connection))
        with operations.batch_alter_table("jobs", recreate="always") as jobs:
            jobs.alter_column("error", existing_type=Text(), type_=Text())
    with sessions() as session:
        assert load_traces(session, finished) == traces_of(trained.model_dump(mode="json"))
    assert differences(engine) == []


def test_a_migration_that_breaks_references_on_sqlite_is_not_committed(engine: Engine) -> None:
    init_db(engine)
    orphan = {"job_id": "no-such-job", "step": 1, "data": b"", "created_at": datetime.now(UTC)}
    with (
        pytest.raises(RuntimeError, match="broke references"),
        locked_transaction(engine) as connection,
    ):
        connection.execute(insert(JobCheckpoint), orphan)
    with Session(engine) as session:
        assert session.scalars(select(JobCheckpoint)).all() == []


# One process of the service starting: imports, says so, waits for the word, then migrates.
START = """
import logging, sys
from jobs.db import init_db, make_engine
from jobs.settings import Settings
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
engine = make_engine(Settings(data_dir=sys.argv[1], database_url=sys.argv[2] or None))
print("ready", flush=True)
sys.stdin.readline()
init_db(engine)
"""


@pytest.mark.processes
@BOTH
@pytest.mark.parametrize("previous_release", [False, True], ids=["new", "previous-release"])
def test_two_processes_starting_at_once_migrate_once(
    settings: Settings, engine: Engine, trained: ExperimentResult, previous_release: bool
) -> None:
    if previous_release:
        finished, _ = made_by_previous_release(engine, trained)
    args = [sys.executable, "-c", START, str(settings.data_dir), settings.database_url or ""]
    starts = [
        subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    for start in starts:
        assert start.stdout.readline() == "ready\n"
    for start in starts:
        start.stdin.write("go\n")
        start.stdin.flush()
    outputs = [start.communicate(timeout=scaled(60))[0] for start in starts]
    assert [start.returncode for start in starts] == [0, 0], outputs
    # The lock lets one upgrade; the other then finds the database at head.
    assert sorted(f"-> {HEAD}," in output for output in outputs) == [False, True], outputs
    assert revision(engine) == HEAD and differences(engine) == []
    if previous_release:
        with Session(engine) as session:
            assert load_traces(session, finished) == traces_of(trained.model_dump(mode="json"))

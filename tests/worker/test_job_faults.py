"""The job runner's own defences: the wall-clock limit, a re-run that starts clean, and a
worker that was declared lost (a zombie) unable to overwrite the run that replaced it."""

from __future__ import annotations

import threading

import gradcore
from api import store, traces
from api.models import Job
from gradcore.result import ExperimentResult
from tests.worker.test_job import ENDLESS, TINY, _job, _submit
from worker.job import Ending, run_job


def test_a_run_past_its_time_limit_ends_failed_with_its_partial_result(settings, sessions) -> None:
    limited = settings.model_copy(update={"job_time_limit_s": 0.5})
    job_id = _submit(sessions, ENDLESS)
    assert run_job(job_id, "w@test", limited, sessions, {}, threading.Event()) is Ending.FINISHED
    job = _job(sessions, job_id)
    assert job.status == "failed" and job.error.startswith("time limit")
    assert "GRADFLOW_JOB_TIME_LIMIT_S" in job.error
    assert 0 < job.summary["steps_completed"] < ENDLESS.steps
    assert job.summary["outcome"] == "stopped"
    with sessions() as session:
        stored = traces.load_traces(session, job_id)
    assert len(stored["loss"]["step"]) == job.summary["steps_completed"]


def test_a_rerun_starts_clean_and_stores_one_result(settings, sessions) -> None:
    job_id = _submit(sessions, TINY)
    lost = gradcore.run(TINY.model_copy(update={"steps": 17}))
    with sessions() as session:
        # A first attempt made progress and stored traces, then its worker was lost and the
        # job re-queued.
        assert store.start_job(session, job_id, "lost@test#1") == 1
        assert traces.append_slice(session, job_id, 1, _traces(lost))
        store.update_jobs(session, Job.id == job_id, progress_step=17, progress_loss=0.5)
        store.update_jobs(session, Job.id == job_id, **store.NOT_STARTED)
    assert _job(sessions, job_id).progress_step == 0
    assert run_job(job_id, "w@test", settings, sessions, {}, threading.Event()) is Ending.FINISHED
    job = _job(sessions, job_id)
    assert job.status == "succeeded" and job.attempts == 2
    assert job.progress_step == TINY.steps
    with sessions() as session:
        assert traces.load_traces(session, job_id)["loss"]["step"] == list(range(TINY.steps))


def test_a_zombie_worker_cannot_store_over_the_run_that_replaced_it(sessions) -> None:
    trained = gradcore.run(TINY)
    job_id = _submit(sessions, TINY)
    with sessions() as session:
        assert store.start_job(session, job_id, "zombie@test#1") == 1
        store.update_jobs(session, Job.id == job_id, **store.NOT_STARTED)
        assert store.start_job(session, job_id, "w@test#2") == 2
        # The zombie is told to stop, and what it tries to store is refused.
        assert store.should_stop(session, job_id, attempt=1)
        assert not store.should_stop(session, job_id, attempt=2)
        assert not traces.append_slice(session, job_id, 1, _traces(trained))
        assert not traces.truncate_after(session, job_id, -1, attempt=1)
        assert store.finish_job(session, job_id, trained.summary, attempt=1) is None
        assert traces.load_traces(session, job_id) is None
        assert traces.append_slice(session, job_id, 2, _traces(trained))
        assert store.finish_job(session, job_id, trained.summary, attempt=2) == "succeeded"


def _traces(result: ExperimentResult) -> dict:
    return result.model_dump(mode="json", exclude={"summary"})

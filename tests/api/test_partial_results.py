"""A running job's results: what is stored so far, marked partial, on SQLite and PostgreSQL.
(Results a database of the previous release stored whole: tests/jobs/test_migrations.py.)"""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from api.app import create_app
from gradcore.result import ExperimentResult
from jobs import store, traces
from jobs.result_view import RESULT_FIELDS
from jobs.settings import Settings
from tests.api.conftest import RESULT_SPEC
from tests.support.traces import slice_between, traces_of, view_result


def _get(client: TestClient, job_id: str, query: str = "") -> dict:
    response = client.get(f"/v1/experiments/{job_id}/results?{query}")
    assert response.status_code == 200, response.text
    return response.json()


def test_a_running_job_answers_what_is_stored_so_far(
    database: Settings, trained: ExperimentResult
) -> None:
    document = trained.model_dump(mode="json")
    run = traces_of(document)
    with TestClient(create_app(database)) as client:
        sessions = client.app.state.sessions
        job_id = client.post("/v1/experiments", json=RESULT_SPEC).json()["id"]
        queued = client.get(f"/v1/experiments/{job_id}/results")
        assert queued.status_code == 409 and "queued" in queued.json()["detail"]
        with sessions() as session:
            attempt = store.start_job(session, job_id, "w@test")
        nothing = _get(client, job_id)
        assert nothing["partial"] is True and nothing["last_step"] is None
        assert nothing["loss"] is None and nothing["summary"] is None

        with sessions() as session:
            assert traces.append_slice(session, job_id, attempt, slice_between(run, 0, 50))
        body = _get(client, job_id)
        assert body.pop("partial") is True and body.pop("last_step") == 49
        assert body == view_result(document, RESULT_FIELDS, None, 49) | {"summary": None}
        thinned = _get(client, job_id, "fields=loss,hidden_grad&max_points=10")
        assert len(thinned["loss"]["step"]) <= 10 and thinned["loss"]["step"][-1] == 49
        assert thinned["hidden_grad"]["step"] == [0, 10, 20, 30, 40]
        assert _get(client, job_id, "step_from=50")["loss"]["step"] == []
        response = client.get(f"/v1/experiments/{job_id}/results.csv?fields=loss")
        assert response.status_code == 200
        assert response.headers["x-gradflow-partial"] == "true"
        assert response.headers["x-gradflow-last-step"] == "49"
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert max(int(row["step"]) for row in rows) == 49

        # A poller asks for what is new since the last step it saw.
        with sessions() as session:
            assert traces.append_slice(session, job_id, attempt, slice_between(run, 50, 10**9))
        new = _get(client, job_id, "step_from=50&fields=loss,grad_norm,hidden_grad")
        assert new["loss"]["step"] == list(range(50, 120)) and new["last_step"] == 119
        assert new["hidden_grad"]["step"] == [50, 60, 70, 80, 90, 100, 110, 119]
        assert new["grad_norm"] == view_result(document, ["grad_norm"], 50)["grad_norm"]

        with sessions() as session:
            assert store.finish_job(session, job_id, trained.summary, attempt) == "succeeded"
        final = _get(client, job_id)
        assert final["partial"] is False and final["last_step"] == 119
        assert ExperimentResult.model_validate(final) == trained
        headers = client.get(f"/v1/experiments/{job_id}/results.csv").headers
        assert headers["x-gradflow-partial"] == "false"


def test_a_failed_run_keeps_its_partial_traces(database: Settings, trained) -> None:
    run = traces_of(trained.model_dump(mode="json"))
    with TestClient(create_app(database)) as client:
        sessions = client.app.state.sessions
        job_id = client.post("/v1/experiments", json=RESULT_SPEC).json()["id"]
        with sessions() as session:
            attempt = store.start_job(session, job_id, "w@test")
            assert traces.append_slice(session, job_id, attempt, slice_between(run, 0, 30))
            store.fail_job(session, job_id, "the worker's process died")
        body = _get(client, job_id, "fields=loss")
        assert body["partial"] is False and body["loss"]["step"] == list(range(30))

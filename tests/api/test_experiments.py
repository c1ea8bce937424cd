"""Submit, get, cancel, delete and list over HTTP; no worker runs, so jobs stay queued."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from jobs.models import TraceBlock, TraceProbe
from tests.support.specs import TINY_SPEC


def _submit(client: TestClient, **change) -> dict:
    response = client.post("/v1/experiments", json={**TINY_SPEC, **change})
    assert response.status_code == 201, response.text
    return response.json()


def test_submit_returns_the_queued_job_and_its_location(client: TestClient) -> None:
    response = client.post("/v1/experiments", json=TINY_SPEC)
    assert response.status_code == 201
    job = response.json()
    assert response.headers["location"] == f"/v1/experiments/{job['id']}"
    assert job["status"] == "queued"
    assert job["spec"]["hidden_size"] == 16 and job["spec"]["optimizer"]["name"] == "adam"
    assert job["progress"] == {
        "step": 0, "total": 30, "fraction": 0.0, "loss": None, "eta_seconds": None
    }  # fmt: skip
    assert job["created_at"].endswith("Z") and job["started_at"] is None
    fetched = client.get(response.headers["location"]).json()
    assert fetched == job


def test_unknown_id_is_404_everywhere(client: TestClient) -> None:
    for method, path in [
        ("GET", "/v1/experiments/nope"),
        ("GET", "/v1/experiments/nope/results"),
        ("POST", "/v1/experiments/nope/cancel"),
        ("DELETE", "/v1/experiments/nope"),
    ]:
        response = client.request(method, path)
        assert response.status_code == 404, (method, path)
        assert "nope" in response.json()["detail"]


def test_results_are_409_until_finished(client: TestClient) -> None:
    job = _submit(client)
    response = client.get(f"/v1/experiments/{job['id']}/results")
    assert response.status_code == 409
    assert "queued" in response.json()["detail"]


def test_cancel_a_queued_job_ends_it_at_once(client: TestClient) -> None:
    job = _submit(client)
    response = client.post(f"/v1/experiments/{job['id']}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["finished_at"] is not None
    again = client.post(f"/v1/experiments/{job['id']}/cancel")
    assert again.status_code == 409 and "cancelled" in again.json()["detail"]
    # Cancelled before it ran: finished, but there is nothing to fetch.
    results = client.get(f"/v1/experiments/{job['id']}/results")
    assert results.status_code == 409 and "without results" in results.json()["detail"]


def test_delete_removes_the_job(client: TestClient) -> None:
    job = _submit(client)
    assert client.delete(f"/v1/experiments/{job['id']}").status_code == 204
    assert client.get(f"/v1/experiments/{job['id']}").status_code == 404
    assert client.get("/v1/experiments").json()["total"] == 0


def test_delete_removes_the_stored_result(client: TestClient, sessions, finished_job) -> None:
    job_id = finished_job(client)
    with sessions() as session:
        counts = [select(func.count()).select_from(table) for table in (TraceBlock, TraceProbe)]
        assert all(session.scalar(count) > 0 for count in counts)
        assert client.delete(f"/v1/experiments/{job_id}").status_code == 204
        assert all(session.scalar(count) == 0 for count in counts)


def test_list_is_newest_first_and_paginated(client: TestClient) -> None:
    ids = [_submit(client, seed=seed)["id"] for seed in range(5)]
    page = client.get("/v1/experiments?limit=2").json()
    assert page["total"] == 5 and page["limit"] == 2 and page["offset"] == 0
    assert [item["id"] for item in page["items"]] == ids[::-1][:2]
    rest = client.get("/v1/experiments?limit=2&offset=2").json()["items"]
    last = client.get("/v1/experiments?limit=2&offset=4").json()["items"]
    listed = [item["id"] for item in page["items"] + rest + last]
    assert listed == ids[::-1]
    assert client.get("/v1/experiments?offset=5").json()["items"] == []
    assert "summary" not in page["items"][0]


def test_list_filters_by_status_cell_and_task(client: TestClient) -> None:
    tanh = _submit(client)
    gru = _submit(client, cell="gru")
    copy = _submit(client, cell="gru", task="copy", seq_len=10)
    client.post(f"/v1/experiments/{gru['id']}/cancel")

    def listed(query: str) -> tuple[int, set[str]]:
        page = client.get(f"/v1/experiments?{query}").json()
        return page["total"], {item["id"] for item in page["items"]}

    assert listed("cell=gru") == (2, {gru["id"], copy["id"]})
    assert listed("task=copy") == (1, {copy["id"]})
    assert listed("status=cancelled") == (1, {gru["id"]})
    assert listed("status=queued&cell=gru") == (1, {copy["id"]})
    assert listed("status=queued&task=adding") == (1, {tanh["id"]})
    assert listed("status=running") == (0, set())

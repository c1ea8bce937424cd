"""GET /results: the stored document, cut by fields, step range and max_points."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from gradcore.result import ExperimentResult

TRACES = ("loss", "grad_norm", "weight_change")


@pytest.fixture
def job_id(client: TestClient, finished_job) -> str:
    return finished_job(client)


def _results(client: TestClient, job_id: str, query: str = "") -> dict:
    response = client.get(f"/v1/experiments/{job_id}/results?{query}")
    assert response.status_code == 200, response.text
    return response.json()


def test_full_result_round_trips(client: TestClient, job_id: str, trained) -> None:
    body = _results(client, job_id)
    assert ExperimentResult.model_validate(body) == trained
    job = client.get(f"/v1/experiments/{job_id}").json()
    assert job["status"] == "succeeded"
    assert job["summary"] == trained.summary.model_dump(mode="json")


def test_fields_selects_parts(client: TestClient, job_id: str) -> None:
    body = _results(client, job_id, "fields=summary,loss")
    assert set(body) == {"summary", "loss", "partial", "last_step"}
    assert body["partial"] is False and body["last_step"] == 119
    response = client.get(f"/v1/experiments/{job_id}/results?fields=loss,gradients")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "fields"]
    assert "gradients" in response.json()["detail"][0]["msg"]


def test_step_range_filters_every_trace(client: TestClient, job_id: str) -> None:
    body = _results(client, job_id, "step_from=15&step_to=40")
    for name in TRACES:
        assert body[name]["step"] == list(range(15, 41))
    assert body["loss"]["loss"] == _results(client, job_id)["loss"]["loss"][15:41]
    assert body["grad_norm"]["per_param"]
    for values in body["grad_norm"]["per_param"].values():
        assert len(values) == 26
    assert body["hidden_grad"]["step"] == [20, 30, 40]
    assert len(body["hidden_grad"]["norm"]) == 3


def test_reversed_step_range_is_422(client: TestClient, job_id: str) -> None:
    response = client.get(f"/v1/experiments/{job_id}/results?step_from=50&step_to=10")
    assert response.status_code == 422
    assert "step_from" in str(response.json()["detail"])


def test_max_points_keeps_ends_and_extremes(client: TestClient, job_id: str) -> None:
    full = _results(client, job_id)
    body = _results(client, job_id, "max_points=20")
    for name in TRACES:
        steps = body[name]["step"]
        assert len(steps) <= 20 and steps[0] == 0 and steps[-1] == 119
        assert steps == sorted(set(steps))
    loss = body["loss"]["loss"]
    assert min(loss) == min(full["loss"]["loss"]) and max(loss) == max(full["loss"]["loss"])
    # Columns stay aligned: each kept loss is the loss of its step in the full trace.
    assert loss == [full["loss"]["loss"][step] for step in body["loss"]["step"]]
    probes = body["hidden_grad"]
    assert len(probes["step"]) <= 20  # 13 probes fit: kept whole
    assert probes["step"] == full["hidden_grad"]["step"]


def test_max_points_cuts_probes_but_keeps_each_curve(client: TestClient, job_id: str) -> None:
    probes = _results(client, job_id, "fields=hidden_grad&max_points=5")["hidden_grad"]
    assert len(probes["step"]) <= 5 and probes["step"][0] == 0 and probes["step"][-1] == 119
    assert len(probes["norm"]) == len(probes["horizon"]) == len(probes["step"])
    assert all(len(layer) == probes["time_steps"] == 20 for p in probes["norm"] for layer in p)


def test_max_points_below_two_is_422(client: TestClient, job_id: str) -> None:
    assert client.get(f"/v1/experiments/{job_id}/results?max_points=1").status_code == 422

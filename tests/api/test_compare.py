"""GET /v1/compare on runs trained here and stored through the trace store: the spec
differences, dL/dh_t aligned by t and by t - T, the series over training, and the refusals."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

import gradcore
from gradcore.result import ExperimentResult
from jobs import keys, store, traces
from tests.support.specs import TINY_SPEC
from tests.support.traces import slice_between, traces_of, view_result

SHORT = {**TINY_SPEC, "seq_len": 12, "hidden_size": 8, "batch_size": 8}
# Longer, and two layers: the top layer's curve is the one compared.
LONG = {**SHORT, "seq_len": 20, "num_layers": 2, "seed": 3}


@pytest.fixture(scope="module")
def results() -> dict[str, ExperimentResult]:
    return {
        name: gradcore.run(gradcore.ExperimentSpec(**spec))
        for name, spec in (("short", SHORT), ("long", LONG))
    }


@pytest.fixture
def pair(client: TestClient, finished_job, results) -> tuple[str, str]:
    short = finished_job(client, {**SHORT, "name": "short run"}, results["short"])
    long = finished_job(client, LONG, results["long"])
    return short, long


def _compare(client: TestClient, ids: list[str], **query) -> dict:
    response = client.get("/v1/compare", params={"ids": ",".join(ids), **query})
    assert response.status_code == 200, response.text
    return response.json()


def test_runs_are_described_by_what_differs(client: TestClient, pair) -> None:
    short, long = pair
    answer = _compare(client, [long, short])
    assert answer["differing_fields"] == ["seq_len", "num_layers", "seed"]
    first, second = answer["runs"]
    assert (first["id"], second["id"]) == (long, short)
    assert first["differing"] == {"seq_len": 20, "num_layers": 2, "seed": 3}
    assert first["label"] == "seq_len=20, num_layers=2, seed=3" and first["name"] is None
    assert (second["label"], second["name"], second["seq_len"]) == ("short run", "short run", 12)
    assert (first["status"], first["partial"]) == ("succeeded", False)


def test_hidden_grad_is_aligned_by_time_step_and_by_distance_from_the_end(
    client: TestClient, pair, results
) -> None:
    short, long = pair
    answer = _compare(client, [short, long])
    # The last probe's top-layer curve of each run, from the results themselves.
    short_curve = results["short"].hidden_grad.norm[-1][-1]
    long_curve = results["long"].hidden_grad.norm[-1][-1]
    assert len(short_curve) == 12 and len(long_curve) == 20
    assert answer["probe"] == {"requested": "last", "steps": [29, 29]}
    by_t = answer["hidden_grad"]["by_t"]
    assert by_t["x"] == list(range(1, 21))
    assert by_t["values"] == [short_curve + [None] * 8, long_curve]
    by_distance = answer["hidden_grad"]["by_distance"]
    assert by_distance["x"] == list(range(-19, 1))
    assert by_distance["values"] == [[None] * 8 + short_curve, long_curve]
    # Where the two runs meet: the last time step of each is at distance 0.
    at_end = by_distance["x"].index(0)
    assert by_distance["values"][0][at_end] == short_curve[11]
    assert by_distance["values"][1][at_end] == long_curve[19]

    # A step between probes takes each run's nearest (the earlier on a tie).
    for requested, step, probe in [(12, 10, 1), (15, 10, 1), (16, 20, 2), (1000, 29, 3)]:
        answer = _compare(client, [short, long], probe=str(requested))
        assert answer["probe"] == {"requested": requested, "steps": [step, step]}
        expected = results["long"].hidden_grad.norm[probe][-1]
        assert answer["hidden_grad"]["by_t"]["values"][1] == expected


def test_series_over_training_are_the_runs_own_downsampled_like_results(
    client: TestClient, pair, results
) -> None:
    short, long = pair
    answer = _compare(client, [short, long])
    for index, name in enumerate(("short", "long")):
        result = results[name]
        assert answer["loss"][index] == {"step": result.loss.step, "value": result.loss.loss}
        assert answer["grad_norm"][index] == {
            "step": result.grad_norm.step, "value": result.grad_norm.total,
        }  # fmt: skip
        top_horizons = [horizon[-1] for horizon in result.hidden_grad.horizon]
        assert answer["horizon"][index] == {"step": result.hidden_grad.step, "value": top_horizons}

    cut = _compare(client, [short, long], max_points=5)
    document = results["long"].model_dump(mode="json")
    reference = view_result(document, ["loss", "grad_norm", "hidden_grad"], max_points=5)
    assert cut["loss"][1] == {"step": reference["loss"]["step"], "value": reference["loss"]["loss"]}
    assert cut["grad_norm"][1]["step"] == reference["grad_norm"]["step"]
    assert len(cut["loss"][1]["step"]) <= 5 and cut["loss"][1]["step"][-1] == 29
    loss = results["long"].loss.loss
    kept = {loss.index(min(loss)), loss.index(max(loss))}
    assert {results["long"].loss.step[i] for i in kept} <= set(cut["loss"][1]["step"])
    assert cut["horizon"][1]["step"] == reference["hidden_grad"]["step"]


def test_a_running_job_is_compared_as_far_as_it_has_come(client: TestClient, pair, results) -> None:
    short, _ = pair
    running = client.post("/v1/experiments", json=LONG).json()["id"]
    result = results["long"]
    with client.app.state.sessions() as session:
        attempt = store.start_job(session, running, "test-worker")
        first_half = slice_between(traces_of(result.model_dump(mode="json")), 0, 15)
        assert traces.append_slice(session, running, attempt, first_half)
    answer = _compare(client, [short, running])
    assert answer["runs"][1]["partial"] is True and answer["runs"][0]["partial"] is False
    assert answer["probe"]["steps"] == [29, 10]
    assert answer["hidden_grad"]["by_t"]["values"][1] == result.hidden_grad.norm[1][-1]
    assert answer["loss"][1] == {"step": result.loss.step[:15], "value": result.loss.loss[:15]}
    top = [horizon[-1] for horizon in result.hidden_grad.horizon[:2]]
    assert answer["horizon"][1] == {"step": [0, 10], "value": top}


def test_a_run_with_nothing_stored_yet_is_compared_as_empty(client: TestClient, pair) -> None:
    short, _ = pair
    queued = client.post("/v1/experiments", json={**SHORT, "seq_len": 30}).json()["id"]
    answer = _compare(client, [short, queued])
    assert answer["runs"][1]["partial"] is True and answer["probe"]["steps"][1] is None
    assert answer["hidden_grad"]["by_t"]["x"] == list(range(1, 13))
    assert answer["hidden_grad"]["by_t"]["values"][1] == [None] * 12
    assert answer["loss"][1] == answer["grad_norm"][1] == answer["horizon"][1]
    assert answer["loss"][1] == {"step": [], "value": []}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"ids": "ONE"}, "ids"),
        ({"ids": ",".join(f"{i:032x}" for i in range(17))}, "ids"),
        ({"ids": f"{0:032x},{0:032x}"}, "ids"),
        ({"ids": f"{0:032x},{1:032x}", "probe": "first"}, "probe"),
        ({"ids": f"{0:032x},{1:032x}", "probe": "-3"}, "probe"),
        ({"ids": f"{0:032x},{1:032x}", "probe": "200000"}, "probe"),
        ({"ids": f"{0:032x},{1:032x}", "max_points": 1}, "max_points"),
        ({"ids": f"{0:032x},{1:032x}", "max_points": 20_001}, "max_points"),
        ({}, "ids"),
    ],
)
def test_bad_queries_are_a_422_naming_the_parameter(
    client: TestClient, query: dict, field: str
) -> None:
    response = client.get("/v1/compare", params=query)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["query", field]


def test_unknown_and_foreign_ids_are_404_naming_the_id(client: TestClient) -> None:
    with client.app.state.sessions() as session:
        alice, bob = (
            {"Authorization": f"Bearer {keys.create_key(session, name)[1]}"} for name in ("a", "b")
        )
    mine = [client.post("/v1/experiments", json=SHORT, headers=alice).json()["id"] for _ in "ab"]
    theirs = client.post("/v1/experiments", json=SHORT, headers=bob).json()["id"]
    for stranger in (theirs, "f" * 32, "not-an-id"):
        response = client.get("/v1/compare", params={"ids": f"{mine[0]},{stranger}"}, headers=alice)
        assert response.status_code == 404 and stranger in response.json()["detail"]
    ok = client.get("/v1/compare", params={"ids": ",".join(mine)}, headers=alice)
    assert ok.status_code == 200 and [run["id"] for run in ok.json()["runs"]] == mine


def test_the_answer_is_documented(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/v1/compare"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RunComparison"
    }
    assert {"404", "422"} <= set(operation["responses"])
    assert [p["name"] for p in operation["parameters"]] == ["ids", "probe", "max_points"]

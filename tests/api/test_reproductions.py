"""Reproductions over HTTP without a worker: the gallery listed, a claim started as sweeps,
and its verdict decided by the gallery's predicate from results stored through the trace
store (run here by gradcore on the very specs the sweeps hold)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

import gradcore
from gradcore.reproductions import REPRODUCTIONS, SEEDS, check, specs
from gradcore.result import ExperimentResult
from tests.api.conftest import store_result
from tests.api.test_security import _key

ROOT = "/v1/reproductions"
FORGET_BIAS = REPRODUCTIONS["forget_bias"]


@pytest.fixture(scope="module")
def forget_bias_results() -> list[ExperimentResult]:
    """Seed 0 of forget_bias at the cpu scale: the bias-0 run, then the bias-1 run."""
    return [gradcore.run(spec) for (spec,) in specs(FORGET_BIAS, "cpu", 1)]


def _start(client: TestClient, name: str, **body: object) -> dict:
    response = client.post(f"{ROOT}/{name}", json=body or None)
    assert response.status_code == 201, response.text
    return response.json()


def _member_ids(client: TestClient, run: dict) -> list[str]:
    return [
        experiment["id"]
        for sweep_id in run["sweeps"]
        for experiment in client.get(f"/v1/sweeps/{sweep_id}").json()["experiments"]
    ]


def test_the_gallery_is_listed_with_its_plans_as_sweep_bodies(client: TestClient) -> None:
    items = client.get(ROOT).json()["items"]
    assert [item["name"] for item in items] == list(REPRODUCTIONS)
    forget = items[list(REPRODUCTIONS).index("forget_bias")]
    assert forget["claim"] == FORGET_BIAS.claim and forget["citation"] == FORGET_BIAS.citation
    assert forget["expected"] == FORGET_BIAS.expected and forget["seeds"] == SEEDS
    (plan,) = forget["scales"]["cpu"]["plans"]
    assert plan == {"base": FORGET_BIAS.plans["cpu"][0].base,
                    "grid": {"init.forget_bias": [0.0, 1.0]}, "seeds": SEEDS,
                    "name": "forget_bias (cpu scale), plan 1 of 1",
                    "tags": ["cpu", "forget_bias", "reproduction"], "notes": None}  # fmt: skip
    assert forget["scales"]["cpu"]["runs"] == 2 * SEEDS
    indrnn = items[list(REPRODUCTIONS).index("indrnn_adding")]["scales"]["paper"]
    assert len(indrnn["plans"]) == 3 and indrnn["runs"] == 4 * SEEDS


def test_unknown_names_and_bad_bodies_are_refused(client: TestClient) -> None:
    unknown = client.post(f"{ROOT}/nope")
    assert unknown.status_code == 404 and "tanh_vanishing" in unknown.json()["detail"]
    for body, field in [({"scale": "gpu"}, "scale"), ({"seeds": 0}, "seeds"),
                        ({"seeds": 11}, "seeds"), ({"seed": 1}, "seed")]:  # fmt: skip
        response = client.post(f"{ROOT}/forget_bias", json=body)
        assert response.status_code == 422, body
        assert response.json()["detail"][0]["loc"][:2] == ["body", field], response.text
    assert client.get(f"{ROOT}/runs/nope").status_code == 404
    assert client.get(f"{ROOT}/runs/{'0' * 32}").status_code == 404
    assert client.get("/v1/experiments").json()["total"] == 0


def test_a_run_is_its_plans_sweeps_one_per_plan_of_the_gallery_specs(client: TestClient) -> None:
    run = _start(client, "indrnn_long", seeds=2)
    assert run["status"] == "pending" and run["passed"] is None and run["scale"] == "cpu"
    assert len(run["sweeps"]) == 2 and run["experiments"] == 4 and run["counts"] == {"queued": 4}
    assert client.get(f"{ROOT}/runs/{run['id']}").json() == run
    expected = [spec for point in specs(REPRODUCTIONS["indrnn_long"], "cpu", 2) for spec in point]
    jobs = [client.get(f"/v1/experiments/{job_id}").json() for job_id in _member_ids(client, run)]
    assert [job["spec"] for job in jobs] == [spec.model_dump(mode="json") for spec in expected]
    for sweep_id in run["sweeps"]:
        assert client.get(f"/v1/sweeps/{sweep_id}").json()["reproduction"] == run["id"]
    assert _start(client, "forget_bias")["experiments"] == 2 * SEEDS  # the defaults


def test_a_run_belongs_to_the_key_that_started_it(client: TestClient) -> None:
    alice, bob = _key(client, "alice"), _key(client, "bob")
    run = client.post(f"{ROOT}/forget_bias", json={"seeds": 1}, headers=alice).json()
    assert client.get(f"{ROOT}/runs/{run['id']}", headers=alice).status_code == 200
    assert client.get(f"{ROOT}/runs/{run['id']}", headers=bob).status_code == 404


def test_the_verdict_is_the_gallery_predicate_on_the_stored_results(
    client: TestClient, forget_bias_results: list[ExperimentResult]
) -> None:
    run = _start(client, "forget_bias", seeds=1)
    first, second = _member_ids(client, run)
    assert store_result(client.app.state.sessions, first, forget_bias_results[0]) == "succeeded"
    pending = client.get(f"{ROOT}/runs/{run['id']}").json()
    assert pending["status"] == "pending" and pending["measured"] is None
    assert pending["counts"] == {"succeeded": 1, "queued": 1}
    store_result(client.app.state.sessions, second, forget_bias_results[1])
    verdict = client.get(f"{ROOT}/runs/{run['id']}").json()
    results = iter(forget_bias_results)
    local = check(FORGET_BIAS, "cpu", 1, lambda _spec: next(results))
    assert verdict["status"] == "passed" and verdict["passed"] is True
    assert verdict["measured"] == local.measured and "gain" in local.measured
    assert client.get(f"{ROOT}/runs/{run['id']}").json() == verdict  # kept, not recomputed

    # The bias-0 numbers in place of the bias-1 run's: no gain, so the claim fails.
    broken = _start(client, "forget_bias", seeds=1)
    for job_id in _member_ids(client, broken):
        store_result(client.app.state.sessions, job_id, forget_bias_results[0])
    failed = client.get(f"{ROOT}/runs/{broken['id']}").json()
    assert failed["status"] == "failed" and failed["passed"] is False
    assert "gain 1)" in failed["measured"]


def test_a_cancelled_member_leaves_the_run_undecided_and_names_it(client: TestClient) -> None:
    run = _start(client, "forget_bias", seeds=1)
    first, _second = _member_ids(client, run)
    assert client.post(f"/v1/experiments/{first}/cancel").status_code == 200
    undecided = client.get(f"{ROOT}/runs/{run['id']}").json()
    assert undecided["status"] == "undecided" and undecided["passed"] is None
    assert undecided["undecided_by"] == [
        {"id": first, "sweep": run["sweeps"][0], "status": "cancelled", "error": None}
    ]
    assert undecided["reason"] == f"no verdict: experiment {first} cancelled"
    assert client.delete(f"/v1/experiments/{first}").status_code == 204
    deleted = client.get(f"{ROOT}/runs/{run['id']}").json()
    assert deleted["deleted"] == 1 and deleted["reason"] == "no verdict: 1 experiment(s) deleted"


def test_results_the_predicate_cannot_read_leave_the_run_undecided(client: TestClient) -> None:
    # W_hh = 100 I: the state overflows float32 in the first forward pass, so the run diverges
    # at step 0 with no probe, and at_init has no curve to read.
    spec = {"cell": "irnn", "task": "adding", "seq_len": 100, "hidden_size": 8,
            "batch_size": 4, "steps": 1, "init": {"recurrent_scale": 100.0}}  # fmt: skip
    overflowed = gradcore.run(gradcore.ExperimentSpec(**spec))
    assert overflowed.summary.diverged_at == 0 and overflowed.hidden_grad.step == []
    run = _start(client, "forget_bias", seeds=1)
    for job_id in _member_ids(client, run):
        assert store_result(client.app.state.sessions, job_id, overflowed) == "diverged"
    undecided = client.get(f"{ROOT}/runs/{run['id']}").json()
    assert undecided["status"] == "undecided" and undecided["undecided_by"] == []
    assert undecided["reason"].startswith("no verdict: the predicate could not read the results")

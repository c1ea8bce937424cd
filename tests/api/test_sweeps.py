"""Sweeps over HTTP without a worker: expansion, validation before queueing, bounds, cancel,
one transaction."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from api.app import create_app
from jobs.models import Job, Sweep, SweepMember
from jobs.settings import Settings
from tests.support.specs import TINY_SPEC

BASE = {key: value for key, value in TINY_SPEC.items() if key != "cell"}


def _job_count(client: TestClient) -> int:
    with client.app.state.sessions() as session:
        return session.scalar(select(func.count()).select_from(Job))


def test_grid_by_dotted_path_expands_every_combination_and_seed(client: TestClient) -> None:
    grid = {"cell": ["tanh", "lstm"], "clipping": [{"mode": "norm", "max_norm": 1.0}],
            "optimizer.lr": [0.01, 0.001]}  # fmt: skip
    response = client.post("/v1/sweeps", json={"base": BASE, "grid": grid, "seeds": 2})
    assert response.status_code == 201, response.text
    sweep = response.json()
    assert response.headers["location"] == f"/v1/sweeps/{sweep['id']}"
    assert sweep["size"] == 8 and sweep["status"] == "active" and sweep["counts"] == {"queued": 8}
    rows = sweep["experiments"]
    assert [row["values"]["cell"] for row in rows] == ["tanh"] * 4 + ["lstm"] * 4
    assert [row["seed"] for row in rows] == [0, 1] * 4
    assert [row["values"]["optimizer.lr"] for row in rows[:4]] == [0.01, 0.01, 0.001, 0.001]
    job = client.get(f"/v1/experiments/{rows[2]['id']}").json()
    assert job["spec"]["optimizer"]["lr"] == 0.001 and job["spec"]["seed"] == 0
    assert job["spec"]["clipping"] == {"mode": "norm", "max_norm": 1.0}
    assert client.get(f"/v1/sweeps/{sweep['id']}").json() == sweep
    listed = client.get("/v1/sweeps").json()["items"]
    assert [item["id"] for item in listed] == [sweep["id"]] and "experiments" not in listed[0]


def test_one_bad_combination_refuses_the_sweep_and_queues_nothing(client: TestClient) -> None:
    # The mlp cell needs a pixel task: only the combinations with mlp are invalid.
    body = {"base": BASE, "grid": {"cell": ["tanh", "mlp"], "seq_len": [20, 30]}, "seeds": 3}
    response = client.post("/v1/sweeps", json=body)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "grid"]
    assert "cell=mlp, seq_len=20" in error["msg"] and "cell=mlp, seq_len=30" in error["msg"]
    assert "cell=tanh" not in error["msg"] and "task" in error["msg"]
    assert _job_count(client) == 0
    assert client.get("/v1/sweeps").json()["items"] == []


def test_unknown_paths_and_bad_grids_are_422(client: TestClient) -> None:
    cases = [
        ({"seqlen": [10]}, "seqlen"),  # not a spec field: named with the combination
        ({"cell": []}, "at least one value"),
        ({"cell": ["tanh", "tanh"]}, "repeats"),
        ({"seed": [1, 2]}, "seeds"),
        ({"Cell!": ["tanh"]}, "dotted"),
        ({"seq_len.x": [1]}, "not an object"),
    ]
    for grid, words in cases:
        response = client.post("/v1/sweeps", json={"base": TINY_SPEC, "grid": grid})
        assert response.status_code == 422, grid
        assert words in response.text, (grid, response.text)
    assert _job_count(client) == 0


def test_sweep_size_is_bounded(settings: Settings) -> None:
    settings.sweep_max_experiments = 5
    with TestClient(create_app(settings)) as small:
        body = {"base": BASE, "grid": {"cell": ["tanh", "lstm", "gru"]}, "seeds": 2}
        response = small.post("/v1/sweeps", json=body)
        assert response.status_code == 422
        assert "6 experiments; at most 5" in response.text
        assert _job_count(small) == 0


def test_cancel_a_sweep_cancels_its_queued_experiments(client: TestClient) -> None:
    body = {"base": BASE, "grid": {"cell": ["tanh", "gru"]}, "seeds": 1}
    sweep = client.post("/v1/sweeps", json=body).json()
    cancelled = client.post(f"/v1/sweeps/{sweep['id']}/cancel").json()
    assert cancelled["counts"] == {"cancelled": 2} and cancelled["status"] == "finished"
    assert client.get(f"/v1/experiments/{sweep['experiments'][0]['id']}").json()["status"] == (
        "cancelled"
    )
    assert client.post("/v1/sweeps/nope/cancel").status_code == 404
    assert client.get("/v1/sweeps/nope").status_code == 404


def test_compare_needs_a_known_metric_and_axis(client: TestClient) -> None:
    sweep = client.post("/v1/sweeps", json={"base": BASE, "grid": {"cell": ["tanh"]}}).json()
    base = f"/v1/sweeps/{sweep['id']}/compare"
    assert client.get(base, params={"metric": "nope"}).status_code == 422
    assert client.get(base, params={"x": "seq_len"}).status_code == 422
    empty = client.get(base).json()  # nothing finished yet: points with n = 0
    assert empty["x"] == "cell" and empty["series"][0]["points"][0]["n"] == 0


def test_grid_values_that_validate_to_the_same_experiment_are_refused(client: TestClient) -> None:
    clip, unclipped = {"mode": "norm", "max_norm": 1.0}, {"mode": "none"}
    for grid, same in [
        ({"clipping.max_norm": [5, 5.0]}, "clipping.max_norm: 5 and 5.0"),
        (
            {"cell": ["tanh", "gru"], "clipping": [clip, unclipped, {**clip, "max_norm": 1}]},
            'clipping: {"max_norm":1.0,"mode":"norm"} and {"max_norm":1,"mode":"norm"}',
        ),
    ]:
        base = BASE | {"cell": "tanh", "clipping": clip}
        response = client.post("/v1/sweeps", json={"base": base, "grid": grid})
        assert response.status_code == 422, response.text
        (error,) = response.json()["detail"]
        path = same.partition(":")[0]
        assert error["loc"] == ["body", "grid", path] and same in error["msg"], error
    assert _job_count(client) == 0


def test_a_sweep_needing_a_dataset_the_server_lacks_is_refused_like_an_experiment(
    client: TestClient,
) -> None:
    spec = {"cell": "lstm", "task": "pixel_mnist", "seq_len": 784, "dataset": "fashion"}
    alone = client.post("/v1/experiments", json=spec)
    swept = client.post("/v1/sweeps", json={"base": spec, "grid": {"hidden_size": [16, 32]}})
    assert alone.status_code == swept.status_code == 422
    assert swept.json()["detail"] == alone.json()["detail"]
    assert swept.json()["detail"][0]["loc"] == ["body", "dataset"]
    assert _job_count(client) == 0


def test_a_sweep_failing_half_way_stores_nothing(database: Settings) -> None:
    """The third member's row fails after the first two reached the database: the sweep, its
    jobs and its members all go, on SQLite and PostgreSQL."""
    inserted: list[str] = []

    def fail_third(_mapper, _connection, job: Job) -> None:
        inserted.append(job.id)
        if len(inserted) == 3:
            raise RuntimeError("injected: the database refused the third member")

    body = {"base": BASE, "grid": {"cell": ["tanh", "gru", "lstm", "irnn"]}}
    with TestClient(create_app(database)) as client:
        event.listen(Job, "after_insert", fail_third)
        try:
            with pytest.raises(RuntimeError, match="injected"):
                client.post("/v1/sweeps", json=body)
        finally:
            event.remove(Job, "after_insert", fail_third)
        assert len(inserted) == 3
        with client.app.state.sessions() as session:
            for table in (Job, Sweep, SweepMember):
                assert session.scalar(select(func.count()).select_from(table)) == 0, table
        # Nothing is left half-held either: the next sweep goes through.
        assert client.post("/v1/sweeps", json=body).status_code == 201

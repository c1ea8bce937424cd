"""An invalid spec is a 422 that names each bad field and stores nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.support.specs import TINY_SPEC


def _bad_fields(response) -> set[tuple]:
    assert response.status_code == 422, response.text
    return {tuple(error["loc"]) for error in response.json()["detail"]}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"hidden_size": 0}, ("body", "hidden_size")),
        ({"cell": "transformer"}, ("body", "cell")),
        ({"steps": 10**9}, ("body", "steps")),
        ({"optimizer": {"lr": -1}}, ("body", "optimizer", "lr")),
        ({"clipping": {"mode": "norm", "max_norm": 0}}, ("body", "clipping", "norm", "max_norm")),
        ({"unknown_knob": 1}, ("body", "unknown_knob")),
        ({"dataset": "../etc"}, ("body", "dataset")),
        # Cross-field checks are located at the field their message names.
        ({"task": "temporal_order", "seq_len": 5}, ("body", "seq_len")),
        ({"task": "pixel_digits", "seq_len": 20}, ("body", "seq_len")),
        ({"cell": "indrnn", "init": {"recurrent": "orthogonal"}}, ("body", "init", "recurrent")),
        ({"init": {"forget_bias": 1.0}}, ("body", "init", "forget_bias")),
        ({"training": {"mode": "tbptt", "tbptt_k2": 5}}, ("body", "training", "tbptt_k2")),
        ({"training": {"tbptt_k1": 5}}, ("body", "training", "tbptt_k1")),
        (
            {"training": {"mode": "tbptt_k1k2", "checkpoint": True}},
            ("body", "training", "checkpoint"),
        ),
        (
            {
                "cell": "mlp",
                "task": "pixel_digits",
                "seq_len": 64,
                "training": {"mode": "tbptt_k1k2"},
            },
            ("body", "training", "mode"),
        ),
    ],
)
def test_invalid_spec_names_the_field(client: TestClient, change: dict, field: tuple) -> None:
    assert field in _bad_fields(client.post("/v1/experiments", json={**TINY_SPEC, **change}))
    assert client.get("/v1/experiments").json()["total"] == 0


@pytest.mark.parametrize(
    ("change", "field", "expected"),
    [
        ({"seq_len": "20"}, ("body", "seq_len"), "integer"),
        ({"seq_len": 20.0}, ("body", "seq_len"), "integer"),
        ({"steps": True}, ("body", "steps"), "integer"),
        ({"optimizer": {"lr": "0.01"}}, ("body", "optimizer", "lr"), "number"),
        ({"probes": {"jacobian_norms": 1}}, ("body", "probes", "jacobian_norms"), "boolean"),
    ],
)
def test_types_are_strict_and_the_422_says_so(
    client: TestClient, change: dict, field: tuple, expected: str
) -> None:
    response = client.post("/v1/experiments", json={**TINY_SPEC, **change})
    assert _bad_fields(response) == {field}
    (error,) = response.json()["detail"]
    assert f"valid {expected}" in error["msg"] and "not converted" in error["msg"], error
    assert client.get("/v1/experiments").json()["total"] == 0


def test_an_integer_stands_for_a_float(client: TestClient) -> None:
    spec = {**TINY_SPEC, "optimizer": {"lr": 1}, "horizon_fraction": 0.5}
    response = client.post("/v1/experiments", json=spec)
    assert response.status_code == 201, response.text
    assert response.json()["spec"]["optimizer"]["lr"] == 1.0


def test_every_bad_field_is_reported(client: TestClient) -> None:
    body = {**TINY_SPEC, "hidden_size": -3, "batch_size": 0, "seed": -1}
    fields = _bad_fields(client.post("/v1/experiments", json=body))
    assert {("body", "hidden_size"), ("body", "batch_size"), ("body", "seed")} <= fields


def test_missing_required_fields(client: TestClient) -> None:
    fields = _bad_fields(client.post("/v1/experiments", json={}))
    assert {("body", "cell"), ("body", "task"), ("body", "seq_len")} <= fields


def test_malformed_json_is_422(client: TestClient) -> None:
    response = client.post(
        "/v1/experiments", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert client.get("/v1/experiments").json()["total"] == 0


def test_mnist_dataset_the_server_lacks_is_422(client: TestClient) -> None:
    body = {"cell": "lstm", "task": "pixel_mnist", "seq_len": 784, "dataset": "fashion"}
    response = client.post("/v1/experiments", json=body)
    assert _bad_fields(response) == {("body", "dataset")}
    assert "fashion" in response.json()["detail"][0]["msg"]
    assert client.get("/v1/experiments").json()["total"] == 0


def test_mnist_dataset_the_server_has_is_accepted(client: TestClient, tmp_path: Path) -> None:
    # Availability needs the training pair present; the worker reads and checks it later.
    directory = tmp_path / "datasets" / "fashion"
    directory.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        (directory / name).write_bytes(b"")
    body = {"cell": "lstm", "task": "pixel_mnist", "seq_len": 784, "dataset": "fashion"}
    assert client.post("/v1/experiments", json=body).status_code == 201
    assert client.get("/v1/meta").json()["datasets"] == ["fashion"]


@pytest.mark.parametrize(
    "query",
    ["status=done", "cell=transformer", "limit=0", "limit=100000", "offset=-1", "colour=red"],
)
def test_bad_list_query_is_422(client: TestClient, query: str) -> None:
    assert client.get(f"/v1/experiments?{query}").status_code == 422

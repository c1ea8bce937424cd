"""422s that teach: an unknown field names the nearest known one at its level, and a body
sent without a JSON content type is told to set it."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from tests.support.specs import TINY_SPEC

LIST = "/v1/experiments"


def refusals(response) -> dict[tuple, str]:
    assert response.status_code == 422, response.text
    return {tuple(error["loc"]): error["msg"] for error in response.json()["detail"]}


@pytest.mark.parametrize(
    ("fields", "loc", "nearest"),
    [
        ({"hiden_size": 16}, ("hiden_size",), "hidden_size"),
        (
            {"optimizer": {"name": "sgd", "lr": 0.1, "momentun": 0.9}},
            ("optimizer", "momentun"),
            "momentum",
        ),
        # A tagged union: the clipping's fields, whichever mode.
        (
            {"clipping": {"mode": "norm", "max_nrom": 1.0}},
            ("clipping", "norm", "max_nrom"),
            "max_norm",
        ),
        ({"training": {"mode": "tbptt", "tbpt_k": 10}}, ("training", "tbpt_k"), "tbptt_k"),
    ],
    ids=["top", "optimizer", "clipping", "training"],
)
def test_an_unknown_field_names_the_nearest_known_one(
    client: TestClient, fields: dict, loc: tuple, nearest: str
) -> None:
    found = refusals(client.post(LIST, json={**TINY_SPEC, **fields}))
    assert found[("body", *loc)] == f"unknown field; did you mean {nearest}?"


def test_with_no_near_name_it_lists_the_fields_of_a_small_part(client: TestClient) -> None:
    found = refusals(client.post(LIST, json={**TINY_SPEC, "optimizer": {"zzz": 1}}))
    message = found[("body", "optimizer", "zzz")]
    assert message.startswith("unknown field; the fields here are ")
    assert {"name", "lr", "momentum"} <= set(message.split("are ")[1].split(", "))


def test_a_sweep_names_the_nearest_field_of_its_body_and_of_its_specs(client: TestClient) -> None:
    found = refusals(
        client.post("/v1/sweeps", json={"bsae": TINY_SPEC, "grid": {"cell": ["tanh"]}})
    )
    assert found[("body", "bsae")] == "unknown field; did you mean base?"
    body = {"base": {**TINY_SPEC, "hiden_size": 8}, "grid": {"cel": ["tanh"]}}
    message = refusals(client.post("/v1/sweeps", json=body))[("body", "grid")]
    assert "hiden_size: unknown field; did you mean hidden_size?" in message
    assert "cel: unknown field; did you mean cell?" in message


@pytest.mark.parametrize(
    "headers",
    [{}, {"Content-Type": "text/plain"}, {"Content-Type": "application/x-www-form-urlencoded"}],
    ids=["none", "text", "form"],
)
def test_a_body_not_sent_as_json_is_told_to_set_the_content_type(
    client: TestClient, headers: dict
) -> None:
    response = client.post(LIST, content=json.dumps(TINY_SPEC), headers=headers)
    message = refusals(response)[("body",)]
    assert "send it with the header Content-Type: application/json" in message
    assert f"(this request's: {headers.get('Content-Type', 'none')})" in message
    assert (
        client.post(
            LIST, content=json.dumps(TINY_SPEC), headers={"Content-Type": "application/json"}
        ).status_code
        == 201
    )


def test_json_that_is_not_an_object_is_not_blamed_on_the_content_type(client: TestClient) -> None:
    message = refusals(client.post(LIST, json=[1, 2]))[("body",)]
    assert "Content-Type" not in message

"""Bad input, in-process: property tests on spec validation (every invalid spec is a 422 and
stores nothing, every valid one round-trips), then hand-picked hostile requests, none of
which may get a 5xx."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from api.app import create_app
from gradcore.spec import RECURRENT_CELLS, ExperimentSpec
from tests.support.specs import TINY_SPEC

LIST = "/v1/experiments"
PROPERTY_EXAMPLES = 60
SYNTHETIC_TASKS = ("adding", "copy", "temporal_order", "temporal_order_3bit")

positive_float = st.floats(min_value=0, max_value=1, exclude_min=True)
valid_specs = st.fixed_dictionaries(
    {
        "cell": st.sampled_from(RECURRENT_CELLS),
        "task": st.sampled_from(SYNTHETIC_TASKS),
        "seq_len": st.integers(10, 2000),
    },
    optional={
        # Bounded so that the product stays under the default cost limit.
        "hidden_size": st.integers(1, 128),
        "num_layers": st.integers(1, 4),
        "steps": st.integers(1, 5000),
        "batch_size": st.integers(1, 128),
        "probe_every": st.integers(1, 100_000),
        "seed": st.integers(0, 2**31 - 1),
        "horizon_fraction": positive_float.filter(lambda x: x < 1),
        "device": st.sampled_from(["auto", "cpu", "cuda"]),
        "clipping": st.one_of(
            st.just({"mode": "none"}),
            st.fixed_dictionaries({"mode": st.just("norm"), "max_norm": positive_float}),
            st.fixed_dictionaries({"mode": st.just("value"), "clip_value": positive_float}),
        ),
        "optimizer": st.fixed_dictionaries(
            {"name": st.sampled_from(["sgd", "adam", "rmsprop"]), "lr": positive_float}
        ),
        "training": st.one_of(
            st.fixed_dictionaries(
                {"mode": st.sampled_from(["bptt", "tbptt"]), "tbptt_k": st.integers(1, 100)}
            ),
            # Small k2: a window per loss term multiplies the cost of every-step tasks by k2.
            st.fixed_dictionaries(
                {
                    "mode": st.just("tbptt_k1k2"),
                    "tbptt_k1": st.integers(1, 100),
                    "tbptt_k2": st.integers(1, 3),
                }
            ),
        ),
    },
)


def _out_of(low: float, high: float) -> st.SearchStrategy[Any]:
    """Numbers outside [low, high], of every kind JSON can carry (and Python's parser admits)."""
    return st.one_of(
        st.integers(max_value=int(low) - 1),
        st.integers(min_value=int(high) + 1),
        st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not low <= x <= high),
    )


# One invalid value per field path: wrong type, out of range, unknown name, non-finite.
wrong_type = st.one_of(st.text(max_size=20), st.lists(st.integers(), max_size=3), st.none())
invalid_fields: dict[tuple[str, ...], st.SearchStrategy[Any]] = {
    ("cell",): st.text(max_size=30).filter(lambda s: s not in (*RECURRENT_CELLS, "mlp")),
    ("task",): st.one_of(st.text(max_size=30), st.integers()),
    ("seq_len",): st.one_of(_out_of(1, 10_000), wrong_type),
    ("hidden_size",): st.one_of(_out_of(1, 1024), wrong_type),
    ("steps",): _out_of(1, 100_000),
    ("batch_size",): _out_of(1, 1024),
    ("seed",): _out_of(0, 2**31 - 1),
    ("horizon_fraction",): st.floats(allow_nan=True).filter(lambda x: not 0 < x < 1),
    ("optimizer", "lr"): st.floats(allow_nan=True).filter(lambda x: not 0 < x <= 10),
    ("training", "tbptt_k2"): _out_of(1, 10_000),
    ("dataset",): st.text(min_size=1, max_size=40).filter(lambda s: not s.isascii()),
    ("clipping",): st.fixed_dictionaries({"mode": st.text(max_size=10)}),
    ("an_unknown_field",): st.integers(),
}


@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory, broker_url: str):
    from jobs.settings import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("bad"), redis_url=broker_url)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def _post_raw(client: TestClient, body: dict[str, Any]) -> Any:
    # json.dumps writes NaN and Infinity as bare tokens, as a careless client would.
    return client.post(LIST, content=json.dumps(body), headers={"Content-Type": "application/json"})


@settings(
    max_examples=PROPERTY_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
@given(spec=valid_specs)
def test_every_valid_spec_round_trips(app_client: TestClient, spec: dict[str, Any]) -> None:
    try:
        expected = ExperimentSpec.model_validate(spec).model_dump(mode="json")
    except ValueError:
        assume(False)  # a combination the spec refuses (e.g. indrnn with its init)
    created = app_client.post(LIST, json=spec)
    assert created.status_code == 201, created.text
    assert created.json()["spec"] == expected
    fetched = app_client.get(f"{LIST}/{created.json()['id']}").json()
    assert fetched["spec"] == expected and fetched["status"] == "queued"


@settings(
    max_examples=PROPERTY_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
@given(data=st.data(), path=st.sampled_from(sorted(invalid_fields)))
def test_every_invalid_spec_is_a_422_that_stores_nothing(
    app_client: TestClient, data: st.DataObject, path: tuple[str, ...]
) -> None:
    spec: dict[str, Any] = json.loads(json.dumps(TINY_SPEC))
    spec.setdefault(path[0], {}) if len(path) > 1 else None
    target = spec if len(path) == 1 else spec[path[0]]
    target[path[-1]] = data.draw(invalid_fields[path], label=".".join(path))
    before = app_client.get(LIST).json()["total"]
    response = _post_raw(app_client, spec)
    assert response.status_code == 422, response.text
    assert all(error["loc"][0] == "body" for error in response.json()["detail"])
    assert app_client.get(LIST).json()["total"] == before


JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
SPEC = json.dumps(TINY_SPEC)
# (method, path, body, headers, expected status): each a request a client should not send.
HOSTILE: list[tuple[str, str, bytes | str | None, dict[str, str], int]] = [
    ("POST", LIST, "{", JSON, 422),
    ("POST", LIST, '{"cell": "tanh",}', JSON, 422),
    ("POST", LIST, "", JSON, 422),
    ("POST", LIST, "null", JSON, 422),
    ("POST", LIST, "[1, 2]", JSON, 422),
    ("POST", LIST, '"spec"', JSON, 422),
    ("POST", LIST, b"\xff\xfe{}", JSON, 422),
    ("POST", LIST, SPEC, {"Content-Type": "text/plain"}, 422),
    (
        "POST",
        LIST,
        "cell=tanh&task=adding",
        {"Content-Type": "application/x-www-form-urlencoded"},
        422,
    ),
    ("POST", LIST, SPEC, {"Content-Type": "application/xml"}, 422),
    ("POST", LIST, SPEC.replace("20", "NaN", 1), JSON, 422),
    ("POST", LIST, SPEC.replace("20", "Infinity", 1), JSON, 422),
    ("POST", LIST, SPEC.replace("20", "-Infinity", 1), JSON, 422),
    ("POST", LIST, SPEC.replace("20", "1e400", 1), JSON, 422),
    ("POST", LIST, SPEC.replace("20", "-20", 1), JSON, 422),
    ("POST", LIST, SPEC.replace("20", "9" * 40, 1), JSON, 422),
    ("POST", LIST, SPEC.replace("20", "9" * 5000, 1), JSON, 400),
    ("POST", LIST, SPEC.replace("20", "20.5", 1), JSON, 422),
    ("POST", LIST, SPEC.replace('"tanh"', '"t\\u00e4nh"'), JSON, 422),
    ("POST", LIST, SPEC.replace('"tanh"', '"\\ud800"'), JSON, 422),
    ("POST", LIST, SPEC.replace('"tanh"', '"tanh\\u0000"'), JSON, 422),
    ("POST", LIST, SPEC[:-1] + ', "dataset": "../../etc/passwd"}', JSON, 422),
    ("POST", LIST, SPEC[:-1] + ', "dataset": "\\u202e\\ud83d\\ude00"}', JSON, 422),
    ("POST", LIST, SPEC[:-1] + ', "__class__": "os.system"}', JSON, 422),
    ("POST", LIST, "[" * 20_000 + "]" * 20_000, JSON, 400),
    ("POST", LIST, SPEC + " " * 70_000, JSON, 413),
    ("GET", f"{LIST}?limit=1e999", None, {}, 422),
    ("GET", f"{LIST}?limit=-1&offset=-1", None, {}, 422),
    ("GET", f"{LIST}?offset=99999999999999999999999", None, {}, 422),
    ("GET", f"{LIST}?status=%F0%9F%92%A5", None, {}, 422),
    ("GET", f"{LIST}?cell=tanh&cell=relu&limit=NaN", None, {}, 422),
    ("GET", f"{LIST}/{'a' * 32}/results?max_points=NaN", None, {}, 422),
    ("GET", f"{LIST}/{'a' * 32}/results?fields=..%2F..%2Fsecrets", None, {}, 422),
    ("GET", f"{LIST}/%00", None, {}, 404),
    ("GET", f"{LIST}/{'%E2%80%AE' * 40}", None, {}, 404),
    ("DELETE", f"{LIST}/{'x' * 5000}", None, {}, 404),
    ("POST", f"{LIST}/{'0' * 32}/cancel", "garbage", JSON, 404),
    ("POST", LIST, SPEC, {**JSON, "Idempotency-Key": "has space"}, 422),
    ("PUT", LIST, SPEC, JSON, 405),
]


@pytest.mark.parametrize(("method", "path", "body", "headers", "expected"), HOSTILE)
def test_hostile_requests_get_a_4xx_that_says_why(
    app_client: TestClient, method: str, path: str, body, headers: dict, expected: int
) -> None:
    response = app_client.request(method, path, content=body, headers=headers)
    assert response.status_code == expected, response.text[:500]
    assert response.json()["detail"]

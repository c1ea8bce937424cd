"""API keys, ownership, limits and Idempotency-Key, in-process on SQLite and an embedded Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from jobs import keys
from jobs.settings import Settings
from tests.support.specs import TINY_SPEC

HEALTH, LIST = "/v1/health", "/v1/experiments"


def _key(client: TestClient, name: str) -> dict[str, str]:
    with client.app.state.sessions() as session:
        _, token = keys.create_key(session, name)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def limited(settings: Settings) -> Iterator[TestClient]:
    tight = settings.model_copy(
        update={
            "limit_seq_len": 100,
            "limit_cost": 1e9,
            "max_body_bytes": 2048,
            "max_active_jobs_per_key": 3,
            "submit_rate_per_minute": 5,
        }
    )
    with TestClient(create_app(tight)) as client:
        yield client


def test_with_no_key_configured_the_service_is_open(client: TestClient) -> None:
    assert client.get(LIST).status_code == 200
    assert client.post(LIST, json=TINY_SPEC).status_code == 201


def test_once_a_key_exists_every_endpoint_but_health_needs_it(client: TestClient) -> None:
    alice = _key(client, "alice")
    for path in (LIST, "/v1/meta", "/openapi.json", f"{LIST}/{'0' * 32}"):
        refused = client.get(path)
        assert refused.status_code == 401, path
        assert "Bearer" in refused.json()["detail"]
        assert refused.headers["www-authenticate"] == "Bearer"
    assert client.post(LIST, json=TINY_SPEC).status_code == 401
    assert client.get(HEALTH).status_code == 503  # answered without a key: degraded, no worker
    assert client.get(LIST, headers=alice).status_code == 200
    for bad in ("Bearer nope", "Basic YWxpY2U6eA==", alice["Authorization"][:-1] + "x", "Bearer"):
        assert client.get(LIST, headers={"Authorization": bad}).status_code == 401, bad


def test_keys_are_stored_hashed_and_revoking_one_locks_it_out(client: TestClient) -> None:
    alice = _key(client, "alice")
    token = alice["Authorization"].removeprefix("Bearer ")
    with client.app.state.sessions() as session:
        (key,) = keys.list_keys(session)
        secret = token.split("_", 2)[2]  # gf_<id>_<secret>; the secret may hold "_" itself
        assert secret not in key.secret_hash and len(key.secret_hash) == 64
        assert keys.revoke_key(session, key.id) and not keys.revoke_key(session, key.id)
    # The last key revoked: the service stays locked rather than opening up.
    assert client.get(LIST, headers=alice).status_code == 401
    assert client.get(LIST).status_code == 401


def test_experiments_belong_to_the_key_that_made_them(client: TestClient) -> None:
    alice, bob = _key(client, "alice"), _key(client, "bob")
    job_id = client.post(LIST, json=TINY_SPEC, headers=alice).json()["id"]
    assert client.get(f"{LIST}/{job_id}", headers=alice).status_code == 200
    for method, path in (
        ("GET", f"{LIST}/{job_id}"),
        ("GET", f"{LIST}/{job_id}/results"),
        ("POST", f"{LIST}/{job_id}/cancel"),
        ("DELETE", f"{LIST}/{job_id}"),
    ):
        response = client.request(method, path, headers=bob)
        assert response.status_code == 404, (method, path)
        assert response.json() == client.get(f"{LIST}/{'f' * 32}", headers=bob).json() | {
            "detail": response.json()["detail"]
        }
    assert client.get(LIST, headers=bob).json()["total"] == 0
    assert [item["id"] for item in client.get(LIST, headers=alice).json()["items"]] == [job_id]


@pytest.mark.parametrize("job_id", ["nope", "0" * 33, "%00", "%C3%A9" * 16, "A" * 32])
def test_malformed_ids_are_404_without_reaching_the_database(client, job_id: str) -> None:
    assert client.get(f"{LIST}/{job_id}").status_code == 404
    assert client.delete(f"{LIST}/{job_id}").status_code == 404


def test_spec_limits_are_422s_naming_the_limit(limited: TestClient) -> None:
    response = limited.post(LIST, json={**TINY_SPEC, "seq_len": 101})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "seq_len"] and "GRADFLOW_LIMIT_SEQ_LEN" in error["msg"]
    costly = {**TINY_SPEC, "hidden_size": 512, "steps": 1000}
    (error,) = limited.post(LIST, json=costly).json()["detail"]
    assert error["loc"] == ["body"] and "GRADFLOW_LIMIT_COST" in error["msg"]
    assert limited.post(LIST, json=TINY_SPEC).status_code == 201


def test_a_body_over_the_limit_is_413(limited: TestClient) -> None:
    huge = {**TINY_SPEC, "dataset": "x" * 4000}
    response = limited.post(LIST, json=huge)
    assert response.status_code == 413 and "GRADFLOW_MAX_BODY_BYTES" in response.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"cell": "tanh", "task": "adding", "seq_len": 20, "dataset": "'
        yield from (b"x" * 1000 for _ in range(4))
        yield b'"}'

    chunked = limited.post(LIST, content=chunks(), headers={"Content-Type": "application/json"})
    assert chunked.status_code == 413


def test_active_jobs_and_submissions_per_key_are_limited(limited: TestClient) -> None:
    alice = _key(limited, "alice")
    ids = [limited.post(LIST, json=TINY_SPEC, headers=alice).json()["id"] for _ in range(3)]
    busy = limited.post(LIST, json=TINY_SPEC, headers=alice)
    assert busy.status_code == 429 and "GRADFLOW_MAX_ACTIVE_JOBS_PER_KEY" in busy.json()["detail"]
    for job_id in ids[:2]:
        assert limited.post(f"{LIST}/{job_id}/cancel", headers=alice).status_code == 200
    for _ in range(2):
        assert limited.post(LIST, json=TINY_SPEC, headers=alice).status_code == 201
    assert limited.post(f"{LIST}/{ids[2]}/cancel", headers=alice).status_code == 200
    # Two of three slots in use, but five submissions (the refused one not counted) this minute.
    fast = limited.post(LIST, json=TINY_SPEC, headers=alice)
    assert fast.status_code == 429 and "GRADFLOW_SUBMIT_RATE_PER_MINUTE" in fast.json()["detail"]
    assert 1 <= int(fast.headers["retry-after"]) <= 61
    # Another key has its own budget.
    assert limited.post(LIST, json=TINY_SPEC, headers=_key(limited, "bob")).status_code == 201


def test_a_sweep_counts_all_its_members_against_the_active_limit(limited: TestClient) -> None:
    carol = _key(limited, "carol")
    four = {"base": TINY_SPEC, "grid": {"seq_len": [10, 20]}, "seeds": 2}
    refused = limited.post("/v1/sweeps", json=four, headers=carol)
    assert refused.status_code == 429
    assert "asks for 4 more" in refused.json()["detail"]
    assert limited.get(LIST, headers=carol).json()["total"] == 0
    three = {"base": TINY_SPEC, "grid": {"seq_len": [10, 20, 30]}, "seeds": 1}
    assert limited.post("/v1/sweeps", json=three, headers=carol).status_code == 201


def test_idempotency_key_returns_the_same_experiment(client: TestClient) -> None:
    first = client.post(LIST, json=TINY_SPEC, headers={"Idempotency-Key": "run-1"})
    again = client.post(LIST, json=TINY_SPEC, headers={"Idempotency-Key": "run-1"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["location"] == first.headers["location"]
    other = client.post(LIST, json={**TINY_SPEC, "seed": 1}, headers={"Idempotency-Key": "run-1"})
    assert other.status_code == 422
    assert other.json()["detail"][0]["loc"] == ["header", "idempotency-key"]
    assert "different body" in other.json()["detail"][0]["msg"]
    assert client.post(LIST, json=TINY_SPEC).json()["id"] != first.json()["id"]
    assert client.get(LIST).json()["total"] == 2
    bad = client.post(LIST, json=TINY_SPEC, headers={"Idempotency-Key": "x" * 256})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["header", "idempotency-key"]


def test_idempotency_keys_are_scoped_to_the_api_key(client: TestClient) -> None:
    alice, bob = _key(client, "alice"), _key(client, "bob")
    same = {"Idempotency-Key": "nightly"}
    a = client.post(LIST, json=TINY_SPEC, headers={**alice, **same}).json()["id"]
    b = client.post(LIST, json=TINY_SPEC, headers={**bob, **same}).json()["id"]
    assert a != b

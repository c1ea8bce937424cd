"""GET /v1/health and GET /v1/meta."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from cli.heartbeat import worker_alive
from gradcore.spec import LIMITS
from jobs import store
from jobs.settings import Settings
from tests.support.specs import TINY_SPEC


def test_health_reports_database_broker_and_workers(client: TestClient, sessions) -> None:
    response = client.get("/v1/health")
    body = response.json()
    assert body["database"] == {"ok": True, "detail": "sqlite"}
    assert body["broker"]["ok"] is True
    # No worker has beaten yet: the service cannot run jobs, and says so in the status code
    # too, which is all a load balancer or a container healthcheck reads.
    assert body["workers"] == [] and body["status"] == "degraded"
    assert response.status_code == 503
    with sessions() as session:
        store.beat(session, "w1@host")
    response = client.get("/v1/health")
    body = response.json()
    assert [w["name"] for w in body["workers"]] == ["w1@host"]
    assert body["status"] == "ok" and response.status_code == 200


def test_health_reports_an_unreachable_broker(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, redis_url="redis://127.0.0.1:1/0")
    with TestClient(create_app(settings)) as client:
        response = client.get("/v1/health")
        body = response.json()
        assert body["broker"]["ok"] is False and "REDIS_URL" in body["broker"]["detail"]
        assert body["status"] == "degraded" and response.status_code == 503
        # Submitting then fails fast and clearly, and the job is not left queued.
        response = client.post("/v1/experiments", json=TINY_SPEC)
        assert response.status_code == 503 and "health" in response.json()["detail"]
        assert client.get("/v1/experiments?status=queued").json()["total"] == 0


def test_meta_describes_the_form(client: TestClient) -> None:
    meta = client.get("/v1/meta").json()
    assert {"tanh", "lstm", "gru", "indrnn", "irnn", "mlp"} <= set(meta["cells"])
    assert "adding" in meta["tasks"] and set(meta["task_details"]) == set(meta["tasks"])
    # The long-memory cells and selective copying come from the spec's types, with their blocks.
    assert {"exprnn", "lru", "s4d", "urnn"} <= set(meta["cells"]) & set(meta["recurrent_cells"])
    assert "selective_copy" in meta["tasks"]
    assert {"exprnn", "lru", "s4d"} <= set(meta["spec_schema"]["properties"])
    assert meta["clipping_modes"] == ["none", "norm", "value"]
    assert "orthogonal" in meta["inits"]
    assert meta["limits"]["seq_len_max"] == 10_000
    assert meta["datasets"] == []
    assert meta["statuses"] == [
        "queued", "running", "succeeded", "failed", "cancelled", "diverged"
    ]  # fmt: skip
    assert meta["final_statuses"] == ["succeeded", "failed", "cancelled", "diverged"]
    assert "cell" in meta["spec_schema"]["properties"]


def test_meta_publishes_this_servers_limits(settings: Settings) -> None:
    # Tighter than gradcore's bounds for seq_len and num_layers, looser for steps.
    tight = settings.model_copy(
        update={"limit_seq_len": 300, "limit_num_layers": 2, "limit_steps": 10**9}
    )
    with TestClient(create_app(tight)) as client:
        meta = client.get("/v1/meta").json()
        limits = meta["limits"]
        # The form's schema carries the same maximums.
        fields = meta["spec_schema"]["properties"]
        assert fields["seq_len"]["maximum"] == 300 and fields["num_layers"]["maximum"] == 2
        assert fields["steps"]["maximum"] == LIMITS["steps_max"]
        assert limits["seq_len_max"] == 300
        assert limits["num_layers_max"] == limits["mlp_depth_max"] == 2
        assert limits["steps_max"] == LIMITS["steps_max"]
        assert limits["lr_max"] == LIMITS["lr_max"]  # no server setting: gradcore's
        # What the meta offers is what the server admits, and one past it is refused.
        at_limit = {**TINY_SPEC, "seq_len": int(limits["seq_len_max"]), "steps": 1}
        assert client.post("/v1/experiments", json=at_limit).status_code == 201
        past = {**at_limit, "seq_len": at_limit["seq_len"] + 1}
        assert client.post("/v1/experiments", json=past).status_code == 422


def test_worker_alive_reads_the_heartbeat(client: TestClient, sessions, settings) -> None:
    assert worker_alive(settings, "w2@host") == 1
    with sessions() as session:
        store.beat(session, "w2@host")
    assert worker_alive(settings, "w2@host") == 0

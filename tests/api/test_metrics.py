"""GET /metrics: what it counts, who may read it, and one total over several API processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from api.app import create_app
from jobs import keys
from jobs.settings import Settings
from tests.support.specs import TINY_SPEC

OPERATOR_TOKEN = "operator-secret-0123456789"


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value}, parsed by prometheus_client's own parser."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_count_jobs_by_state_durations_and_the_queue(
    client: TestClient, finished_job
) -> None:
    finished_job(client)
    client.post("/v1/experiments", json=TINY_SPEC)  # stays queued: no worker here
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text)
    assert samples["gradflow_jobs", (("status", "succeeded"),)] == 1
    assert samples["gradflow_jobs", (("status", "queued"),)] == 1
    assert samples["gradflow_jobs", (("status", "failed"),)] == 0
    assert samples["gradflow_job_duration_seconds_count", ()] == 1
    assert samples["gradflow_job_duration_seconds_bucket", (("le", "+Inf"),)] == 1
    queue = client.app.state.settings.queue
    assert samples["gradflow_queue_depth", (("queue", queue),)] == 2  # both messages wait
    assert samples["gradflow_broker_up", ()] == 1 and samples["gradflow_workers", ()] == 0
    assert samples["gradflow_event_streams_open", ()] == 0
    assert "# TYPE gradflow_job_duration_seconds histogram" in response.text


def test_once_keys_exist_metrics_are_refused_to_user_keys_without_an_operator_token(
    client: TestClient,
) -> None:
    with client.app.state.sessions() as session:
        _, token = keys.create_key(session, "alice")
    for headers in ({}, {"Authorization": f"Bearer {token}"}):
        refused = client.get("/metrics", headers=headers)
        assert refused.status_code == 403 and "GRADFLOW_METRICS_TOKEN" in refused.json()["detail"]


def test_with_an_operator_token_only_that_token_reads_metrics(settings: Settings) -> None:
    operated = settings.model_copy(update={"metrics_token": SecretStr(OPERATOR_TOKEN)})
    with TestClient(create_app(operated)) as client:
        with client.app.state.sessions() as session:
            _, user_token = keys.create_key(session, "alice")
        for credential in (None, user_token, OPERATOR_TOKEN[:-1], f"x{OPERATOR_TOKEN}"):
            headers = {"Authorization": f"Bearer {credential}"} if credential else {}
            refused = client.get("/metrics", headers=headers)
            assert refused.status_code == 401, credential
            assert "GRADFLOW_METRICS_TOKEN" in refused.json()["detail"]
        allowed = client.get("/metrics", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"})
        assert allowed.status_code == 200 and "gradflow_jobs" in allowed.text
        # The operator token is not an API key: it opens nothing else.
        denied = client.get(
            "/v1/experiments", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}
        )
        assert denied.status_code == 401


# One API process: holds `held` streams of one key (the cap is `held`) and is refused `refused`
# more, through the same StreamSlots the routes use.
PROCESS = """
import sys
from fastapi import HTTPException
from api.stream_slots import StreamSlots
held, refused = int(sys.argv[1]), int(sys.argv[2])
slots = StreamSlots(held)
for _ in range(held):
    slots.take("k")
for _ in range(refused):
    try:
        slots.take("k")
    except HTTPException as exc:
        assert exc.status_code == 429
"""


@pytest.mark.processes  # two interpreters of its own: outside `make test-fast`
def test_in_multiprocess_mode_metrics_sum_every_api_process(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    for held, refused in ((2, 1), (3, 4)):
        subprocess.run(
            [sys.executable, "-c", PROCESS, str(held), str(refused)], env=env, check=True
        )
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(shared))
    samples = _samples(client.get("/metrics").text)
    assert samples["gradflow_event_streams_open", ()] == 2 + 3
    assert samples["gradflow_event_streams_refused_total", ()] == 1 + 4
    assert samples["gradflow_jobs", (("status", "queued"),)] == 0  # the database's, once

"""Memory admission: a spec whose estimated peak is above what a run may use is refused with a
422 naming the estimate, the limit and the field to lower; one just under it runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import gradcore
from api.app import create_app
from gradcore.estimate import estimate_peak_bytes, estimate_work
from gradcore.spec import ExperimentSpec
from jobs.settings import WORKER_MEMORY_FRACTION, Settings, default_worker_memory_bytes

LIST = "/v1/experiments"
# One step under the default cost limit (1e14), yet tens of GiB of activations.
WIDE = {
    "cell": "tanh",
    "task": "adding",
    "seq_len": 10_000,
    "hidden_size": 1024,
    "batch_size": 1024,
    "steps": 1,
}
DEEP_COPY = {**WIDE, "task": "copy", "num_layers": 8}
# Its training step is the largest part of its estimate (the fused LSTM's plain step).
SMALL = {
    "cell": "lstm",
    "task": "adding",
    "seq_len": 300,
    "hidden_size": 32,
    "batch_size": 256,
    "steps": 3,
    "probe_every": 2,
}


@pytest.mark.parametrize("body", [WIDE, DEEP_COPY])
def test_specs_under_the_cost_limit_but_over_memory_are_refused(
    client: TestClient, body: dict[str, object]
) -> None:
    spec = ExperimentSpec(**body)
    assert estimate_work(spec) <= client.app.state.settings.limit_cost
    response = client.post(LIST, json=body)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "batch_size"]
    assert "GRADFLOW_WORKER_MEMORY_BYTES" in error["msg"] and "32.00 GiB" in error["msg"]
    assert f"{estimate_peak_bytes(spec) / 2**30:.2f} GiB" in error["msg"]
    sweep = {"base": {**body, "batch_size": 1}, "grid": {"batch_size": [1, 1024]}}
    response = client.post("/v1/sweeps", json=sweep)
    assert response.status_code == 422 and "GRADFLOW_WORKER_MEMORY_BYTES" in str(response.json())
    assert client.get(LIST).json()["items"] == []


@pytest.mark.slow
def test_a_spec_just_under_the_limit_is_admitted_and_runs(
    tmp_path: Path, broker_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = ExperimentSpec(**SMALL)
    limit = estimate_peak_bytes(spec)
    monkeypatch.setenv("GRADFLOW_WORKER_MEMORY_BYTES", str(limit))
    settings = Settings(data_dir=tmp_path, redis_url=broker_url, queue="test-memory-admission")
    assert settings.worker_memory_bytes == limit
    with TestClient(create_app(settings)) as client:
        assert client.post(LIST, json=SMALL).status_code == 201
        larger = client.post(LIST, json={**SMALL, "batch_size": 257})
        assert larger.status_code == 422
        assert larger.json()["detail"][0]["loc"] == ["body", "batch_size"]
        meta = client.get("/v1/meta").json()
        assert meta["memory_limit_bytes"] == limit and "Multiply-adds" in meta["estimates"]["cost"]
        estimate = client.post("/v1/estimate", json=SMALL).json()
        assert estimate["peak_bytes"] == limit and estimate["admitted"]
    assert gradcore.run(spec).summary.outcome == "completed"


def test_the_default_limit_is_a_share_of_this_machine() -> None:
    physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert default_worker_memory_bytes() == int(physical * WORKER_MEMORY_FRACTION)


def test_probes_count_in_the_cost_limit(client: TestClient) -> None:
    """The Jacobian-norm probe is O(T^2 x power_iters): three probed steps at T = 1000 cost
    about 3e14 multiply-adds, above the default limit, though their training costs 3e9."""
    probed = {
        "cell": "tanh",
        "task": "adding",
        "seq_len": 1000,
        "hidden_size": 128,
        "steps": 3,
        "probe_every": 1,
        "probes": {"jacobian_norms": True, "power_iters": 100, "lyapunov_exponents": 64},
    }
    response = client.post(LIST, json=probed)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body"] and "GRADFLOW_LIMIT_COST" in error["msg"]
    assert client.post(LIST, json={**probed, "probes": {}}).status_code == 201

"""CSV export and the event stream of a finished job, in-process."""

from __future__ import annotations

import csv
import io

import numpy as np
from fastapi.testclient import TestClient

import gradcore
from api.events import Cursor, Snapshot, already_ended, parse_last_event_id
from gradcore.result import ExperimentResult
from tests.support.specs import TINY_SPEC


def test_results_csv_has_one_row_per_step_and_series(
    client: TestClient, finished_job, trained: ExperimentResult
) -> None:
    job_id = finished_job(client)
    response = client.get(f"/v1/experiments/{job_id}/results.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    by_series: dict[str, list[dict]] = {}
    for row in rows:
        by_series.setdefault(row["series"], []).append(row)
    steps = len(trained.loss.step)
    assert [float(r["value"]) for r in by_series["loss.loss"]] == trained.loss.loss
    assert [int(r["step"]) for r in by_series["grad_norm.total"]] == trained.grad_norm.step
    assert {float(r["value"]) for r in by_series["grad_norm.clipped"]} <= {0.0, 1.0}
    for name in trained.grad_norm.per_param:
        assert len(by_series[f"grad_norm.per_param.{name}"]) == steps
    for name in trained.weight_change.per_layer:
        assert len(by_series[f"weight_change.per_layer.{name}"]) == steps
    hidden = trained.hidden_grad
    curve = by_series["hidden_grad.norm.layer0"]
    assert len(curve) == len(hidden.step) * hidden.time_steps
    assert [float(r["value"]) for r in curve[: hidden.time_steps]] == hidden.norm[0][0]
    assert [r["time_step"] for r in curve[:2]] == ["1", "2"]
    assert len(by_series["hidden_grad.horizon.layer0"]) == len(hidden.step)

    cut = client.get(f"/v1/experiments/{job_id}/results.csv?fields=loss&max_points=5").text
    series = {line.split(",")[0] for line in cut.splitlines()[1:]}
    assert series == {"loss.loss", "loss.metric"} and len(cut.splitlines()) <= 1 + 2 * 5


# Probes measured and the Hessian-free optimizer: a result with every optional trace.
EVERY_TRACE_SPEC = {
    **TINY_SPEC,
    "task": "copy",  # a recall phase: its horizon is traced too
    "steps": 4,
    "probe_every": 2,
    "hidden_size": 6,
    "seq_len": 8,
    "probes": {
        "jacobian_norms": True,
        "lyapunov_exponents": 2,
        "power_iters": 3,
        "eigenvalues": True,
    },
    "optimizer": {"name": "hessian_free", "lr": 1.0, "cg_max_iters": 3},
}


def _flatten(prefix: str, value: object) -> dict[str, list[float]]:
    """The numbers of a result part by their place in the document, written independently of
    api/tidy.py: lists of lists are walked, a list of layers names its entries."""
    if isinstance(value, dict):
        layers = value.get("layers")
        out: dict[str, list[float]] = {}
        for key, item in value.items():
            if key in ("step", "layers", "time_steps") or item is None:
                continue
            if key == "eigenvalues":  # per probe, layer and eigenvalue: a (re, im) pair
                for index, layer in enumerate(layers):
                    for part, name in enumerate(("re", "im")):
                        out[f"{prefix}.{key}.{layer}.{name}"] = [
                            float(pair[part]) for probe in item for pair in probe[index]
                        ]
            elif layers is not None:  # per probe, then per layer
                for index, layer in enumerate(layers):
                    out[f"{prefix}.{key}.{layer}"] = [
                        float(x) for probe in item for x in np.ravel(probe[index])
                    ]
            else:
                out.update(_flatten(f"{prefix}.{key}", item))
        return out
    return {prefix: [float(x) for x in value]}


def test_results_csv_exports_every_trace_of_a_result_with_dynamics_and_hessian_free(
    client: TestClient, finished_job
) -> None:
    result = gradcore.run(gradcore.ExperimentSpec(**EVERY_TRACE_SPEC))
    assert result.dynamics is not None and result.hessian_free is not None
    job_id = finished_job(client, EVERY_TRACE_SPEC, result)
    document = result.model_dump(mode="json", exclude={"summary"})

    rows = list(
        csv.DictReader(io.StringIO(client.get(f"/v1/experiments/{job_id}/results.csv").text))
    )
    exported: dict[str, list[float]] = {}
    for row in rows:
        exported.setdefault(row["series"], []).append(float(row["value"]))
    expected: dict[str, list[float]] = {}
    for part, value in document.items():
        expected.update(_flatten(part, value))
    assert any(name.startswith("dynamics.lyapunov.") for name in expected)
    assert any(name.startswith("dynamics.eigenvalues.") for name in expected)
    assert any(name.startswith("hessian_free.") for name in expected)
    assert any(name.startswith("hidden_grad.recall_horizon.") for name in expected)
    assert exported == expected


def test_results_csv_is_409_before_results_and_404_for_unknown(client: TestClient) -> None:
    job_id = client.post("/v1/experiments", json=TINY_SPEC).json()["id"]
    assert client.get(f"/v1/experiments/{job_id}/results.csv").status_code == 409
    assert client.get("/v1/experiments/nope/results.csv").status_code == 404


def test_events_of_a_finished_job_end_at_once_and_a_reconnect_gets_204(
    client: TestClient, finished_job
) -> None:
    job_id = finished_job(client)
    response = client.get(f"/v1/experiments/{job_id}/events")
    assert response.status_code == 200
    frames = [frame for frame in response.text.split("\n\n") if frame]
    assert frames[0] == "retry: 1000"
    assert frames[1].startswith("id: ") and "event: traces" in frames[1]  # the whole run
    assert frames[2].startswith("event: status") and '"status":"succeeded"' in frames[2]
    assert frames[3].startswith("id: ") and "event: end" in frames[3]
    end_id = frames[3].split("\n")[0].removeprefix("id: ")
    again = client.get(f"/v1/experiments/{job_id}/events", headers={"Last-Event-ID": end_id})
    assert again.status_code == 204
    stale = client.get(f"/v1/experiments/{job_id}/events", headers={"Last-Event-ID": "0"})
    assert "event: end" in stale.text


def test_last_event_id_parsing_and_the_end_rule() -> None:
    assert parse_last_event_id("12") == Cursor(12, 0, 0)  # an earlier version's: no traces
    assert parse_last_event_id("12.3400.35") == Cursor(12, 3400, 35)
    for junk in ("junk", "1.2", "1.2.3.4", "1.x.3", None):
        assert parse_last_event_id(junk) is None
    ended = Snapshot(version=7, end={"status": "succeeded"})
    assert already_ended(ended, Cursor(7)) and not already_ended(ended, Cursor(6, 99, 9))
    assert not already_ended(ended, None) and not already_ended(Snapshot(version=3), Cursor(9))

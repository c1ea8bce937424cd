"""The Python client and the `submit`, `watch`, `results` commands against the live service."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from gradflow_client import Client, End, GradflowError, Progress, Traces, merge
from tests.live.conftest import TINY, Live
from tests.support.waits import scaled

CLI_TIMEOUT_S = 60
# Several seconds of training with a probe every 50 steps: traces are stored many times.
FOLLOWED = {**TINY, "cell": "tanh", "steps": 1500, "probe_every": 50}


def test_client_submits_waits_with_progress_and_reads_results(live: Live) -> None:
    seen: list[dict] = []
    with Client(live.url) as client:
        job = client.submit({**TINY, "cell": "gru", "steps": 200})
        assert job["status"] == "queued"
        done = client.wait(job["id"], on_progress=seen.append, timeout=scaled(60))
        assert done["status"] == "succeeded" and done["summary"]["steps_completed"] == 200
        assert seen and all(0 <= p["fraction"] <= 1 for p in seen)
        result = client.results(job["id"], fields=["loss", "summary"], max_points=10)
        assert set(result) == {"loss", "summary", "partial", "last_step"}
        assert isinstance(result["loss"]["loss"], list) and result["partial"] is False
        assert len(result["loss"]["step"]) <= 10
        assert client.get(job["id"])["id"] == job["id"]
        with pytest.raises(GradflowError) as error:
            client.submit({**TINY, "cell": "nope"})
        assert error.value.status_code == 422 and "cell" in str(error.value)


def test_client_sweeps(live: Live) -> None:
    with Client(live.url) as client:
        sweep = client.sweep(live.sweep["id"])
        assert sweep["status"] == "finished" and len(sweep["experiments"]) == 8
        compared = client.compare(sweep["id"], metric="eval_loss", x="cell")
        assert compared["x"] == "cell" and all(p["n"] == 2 for p in compared["series"][0]["points"])
        small = client.submit_sweep({**TINY, "cell": "tanh"}, {"optimizer.lr": [0.01]}, seeds=1)
        assert client.wait_sweep(small["id"], timeout=scaled(60))["counts"] == {"succeeded": 1}


def test_results_csv_is_tidy_long_form(live: Live) -> None:
    job_id = live.sweep["experiments"][0]["id"]
    with Client(live.url) as client:
        rows = list(csv.DictReader(io.StringIO(client.results_csv(job_id))))
        result = client.results(job_id)
    assert list(rows[0]) == ["series", "step", "time_step", "value"]
    losses = [float(r["value"]) for r in rows if r["series"] == "loss.loss"]
    assert losses == result["loss"]["loss"]
    hidden = [r for r in rows if r["series"] == "hidden_grad.norm.layer0"]
    probes, seq_len = len(result["hidden_grad"]["step"]), result["hidden_grad"]["time_steps"]
    assert len(hidden) == probes * seq_len and hidden[0]["time_step"] == "1"


def test_client_follows_a_running_job_and_its_increments_make_the_result(live: Live) -> None:
    with Client(live.url) as client:
        job_id = client.submit(FOLLOWED)["id"]
        merged: dict = {}
        first: list = []
        # Stop after the first increment (closing the connection), then resume from its id.
        for event in client.follow(job_id, timeout=scaled(120)):
            first.append(event)
            if isinstance(event, Traces):
                break
        assert isinstance(first[-1], Traces) and first[-1].id is not None
        merge(merged, first[-1].data)
        rest = list(client.follow(job_id, last_event_id=first[-1].id, timeout=scaled(120)))
        for event in rest:
            if isinstance(event, Traces):
                merge(merged, event.data)
        result = client.results(job_id)
    end = rest[-1]
    assert isinstance(end, End) and end.status == "succeeded" and end.summary is not None
    assert [event for event in rest if isinstance(event, End)] == [end]
    # Increments came while it trained: progress was reported after the first one.
    assert any(isinstance(event, Progress) and event.step < FOLLOWED["steps"] for event in rest)
    assert sum(isinstance(event, Traces) for event in rest) >= 2
    assert result["partial"] is False
    assert merged == {name: result[name] for name in merged}
    assert set(result) - set(merged) == {"summary", "partial", "last_step"}
    assert len(merged["loss"]["step"]) == FOLLOWED["steps"]


def _cli(live: Live, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args, "--url", live.url],
        capture_output=True, text=True, timeout=scaled(CLI_TIMEOUT_S), check=False,
    )  # fmt: skip


def test_cli_submit_watch_and_results(live: Live, tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({**TINY, "cell": "lstm"}))
    submitted = _cli(live, "submit", str(spec))
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip()
    watched = _cli(live, "watch", job_id)
    assert watched.returncode == 0 and "succeeded" in watched.stderr, watched.stderr
    shown = _cli(live, "results", job_id, "--fields", "summary")
    assert json.loads(shown.stdout)["summary"]["steps_completed"] == TINY["steps"]
    as_csv = _cli(live, "results", job_id, "--csv", "--fields", "loss")
    assert as_csv.stdout.startswith("series,step,time_step,value\nloss.loss,0,,")
    missing = _cli(live, "watch", "nope")
    assert missing.returncode != 0 and "404" in missing.stderr


def test_cli_watch_prints_loss_grad_norm_and_horizon_as_it_trains(live: Live) -> None:
    job_id = live.http.post("/v1/experiments", json=FOLLOWED).json()["id"]
    watched = _cli(live, "watch", job_id)
    assert watched.returncode == 0, watched.stderr
    lines = [line.split() for line in watched.stdout.splitlines() if line.startswith("step ")]
    # step N/TOTAL  loss L  grad norm G  horizon H[,H per layer]
    assert lines and all(line[2] == "loss" and line[4:6] == ["grad", "norm"] for line in lines)
    steps = [int(line[1].split("/")[0]) for line in lines]
    assert steps == sorted(steps) and lines[-1][1] == f"{FOLLOWED['steps']}/{FOLLOWED['steps']}"
    result = live.http.get(f"/v1/experiments/{job_id}/results").json()
    assert lines[-1][3] == f"{result['loss']['loss'][-1]:.4g}"
    assert lines[-1][6] == f"{result['grad_norm']['total'][-1]:.4g}"
    assert lines[-1][8] == ",".join(map(str, result["hidden_grad"]["horizon"][-1]))
    assert "succeeded" in watched.stderr

"""`cli submit` and `cli watch` against the API in-process: a refused spec reads one line per
field, and a finished run is shown at once by its end state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cli.remote import submit, watch
from gradcore.result import ExperimentResult
from gradflow_client import Client
from jobs import store
from tests.support.specs import TINY_SPEC


@pytest.fixture
def remote(client: TestClient):
    """The CLI's client, its HTTP going to the in-process API (TestClient is an httpx.Client)."""
    with Client("http://testserver") as gradflow:
        gradflow._http = client
        yield gradflow


def test_a_refused_spec_prints_one_line_per_field(
    remote: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({**TINY_SPEC, "hiden_size": 8, "steps": 0}))
    with pytest.raises(SystemExit) as exited:
        submit(remote, spec, watch_after=False)
    assert str(exited.value).splitlines() == [
        "gradflow: HTTP 422: the request was refused:",
        "  steps: Input should be greater than or equal to 1",
        "  hiden_size: unknown field; did you mean hidden_size?",
    ]


def test_watch_on_a_finished_run_prints_its_end_state(
    client: TestClient,
    remote: Client,
    finished_job,
    trained: ExperimentResult,
    capsys: pytest.CaptureFixture[str],
) -> None:
    job_id = finished_job(client)
    paths: list[str] = []
    client.event_hooks["request"].append(lambda request: paths.append(request.url.path))
    assert watch(remote, job_id) == 0
    # Read from the stored result: no event stream opened to replay a finished run.
    assert not [path for path in paths if path.endswith("/events")], paths
    out, err = capsys.readouterr()
    steps = trained.summary.steps_completed
    horizon = ",".join(map(str, trained.hidden_grad.horizon[-1]))
    assert out.splitlines() == [
        f"step {steps}/{steps}  loss {trained.loss.loss[-1]:.4g}  "
        f"grad norm {trained.grad_norm.total[-1]:.4g}  horizon {horizon}",
        "status succeeded",
    ]
    assert err == f"watch: {job_id} succeeded, final loss {trained.summary.final_loss:.4g}\n"


def test_watch_on_a_run_that_failed_before_any_trace_says_so_and_exits_1(
    client: TestClient, remote: Client, sessions, capsys: pytest.CaptureFixture[str]
) -> None:
    job_id = client.post("/v1/experiments", json=TINY_SPEC).json()["id"]
    with sessions() as session:
        store.fail_job(session, job_id, "out of memory")
    assert watch(remote, job_id) == 1
    out, err = capsys.readouterr()
    assert out == "status failed\n"
    assert err == f"watch: {job_id} failed: out of memory\n"

"""The dashboard in headless Chromium against the live service: every page loads from the
service alone and its charts hold the experiments' data; a running experiment's page grows as
it trains and ends equal to the finished run's page. One screenshot per page is kept under
test-artifacts/dashboard/.

Needs Debian's chromium and playwright-core in .browser/ (`make test` installs both when it
can, via scripts/browser-deps.sh); skipped, saying which is missing, otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.live.conftest import TINY, Live
from tests.support.waits import scaled, wait_until

ROOT = Path(__file__).resolve().parents[2]
PLAYWRIGHT_DIR = ROOT / ".browser"
SCRIPTS = ROOT / "tests" / "browser"
ARTIFACTS = ROOT / "test-artifacts" / "dashboard"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
BROWSER_TIMEOUT_S = 90
# Long enough (tens of seconds here) and probed often enough that the heatmap visibly grows;
# more steps than the page's 400 points, so the end swaps the streamed traces for the thinned
# stored result.
LIVE_SPEC = {**TINY, "cell": "tanh", "steps": 8000, "probe_every": 50}


def _missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM)"
    if not (PLAYWRIGHT_DIR / "node_modules" / "playwright-core").is_dir():
        return "playwright-core is not in .browser/ (npm install --prefix .browser playwright-core)"
    return None


def browse(script: str, *args: str) -> dict:
    """The JSON report of tests/browser/<script> run on the given arguments, without errors."""
    if (reason := _missing()) is not None:
        pytest.skip(f"browser test skipped: {reason}; scripts/browser-deps.sh installs it")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    run = subprocess.run(
        ["node", str(SCRIPTS / script), *args], capture_output=True, text=True,
        timeout=scaled(BROWSER_TIMEOUT_S) + 30, check=False,
        env={**os.environ, "PLAYWRIGHT_DIR": str(PLAYWRIGHT_DIR), "CHROMIUM": CHROMIUM},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["errors"] == []
    return report


@pytest.fixture(scope="module")
def pages(live: Live) -> dict:
    experiment = live.sweep["experiments"][0]["id"]
    return browse("pages.mjs", live.url, experiment, live.sweep["id"], str(ARTIFACTS))


def test_home_page_has_the_form_and_the_lists(pages: dict) -> None:
    home = pages["home"]
    assert home["formFields"] >= 12  # built from /v1/meta
    assert home["rows"] >= 2 + 1  # experiments and sweeps tables with their headers
    assert (ARTIFACTS / "home.png").stat().st_size > 10_000


def test_experiment_page_draws_every_chart_with_its_data(pages: dict, live: Live) -> None:
    job_id = live.sweep["experiments"][0]["id"]
    result = live.http.get(f"/v1/experiments/{job_id}/results").json()
    charts = pages["experiment"]["charts"]
    hidden = result["hidden_grad"]
    assert charts["heatmap"]["rects"] == len(hidden["step"]) * hidden["time_steps"]
    assert charts["curves"]["paths"] == 3  # first, middle and last probe by default
    assert charts["curves"]["drawn"] == 3 * hidden["time_steps"]
    steps = len(result["loss"]["step"])
    assert charts["loss"]["drawn"] == charts["metric"]["drawn"] == steps
    assert charts["grad-norm"]["paths"] == 2 and charts["grad-norm"]["drawn"] == 2 * steps
    assert charts["grad-norm"]["markers"] == sum(result["grad_norm"]["clipped"]) > 0
    weights = result["weight_change"]["per_layer"]
    assert charts["weight-change"]["paths"] == len(weights)
    assert (ARTIFACTS / "experiment.png").stat().st_size > 10_000


def test_sweep_page_draws_the_comparison_and_the_curves(pages: dict) -> None:
    charts = pages["sweep"]["charts"]
    # final_loss across the first axis (cell): one line per seq_len, one point per cell.
    assert charts["compare"]["paths"] == 2 and charts["compare"]["points"] == 4
    assert charts["sweep-curve"]["figures"] == 4  # one per grid combination
    assert pages["sweep"]["rows"] == 8 + 1
    assert (ARTIFACTS / "sweep.png").stat().st_size > 10_000


def test_a_running_experiments_page_grows_keeps_the_readers_choices_and_ends_as_finished(
    live: Live,
) -> None:
    if (reason := _missing()) is not None:  # before submitting a long run for nothing
        pytest.skip(f"browser test skipped: {reason}; scripts/browser-deps.sh installs it")
    job_id = live.http.post("/v1/experiments", json=LIVE_SPEC).json()["id"]

    def running() -> bool:
        return live.http.get(f"/v1/experiments/{job_id}").json()["status"] == "running"

    wait_until(running, 60, f"experiment {job_id} running")
    deadline_ms = str(int(scaled(BROWSER_TIMEOUT_S) * 1000))
    report = browse("live.mjs", live.url, job_id, str(ARTIFACTS), deadline_ms)

    result = live.http.get(f"/v1/experiments/{job_id}/results?max_points=400").json()
    assert result["partial"] is False and result["summary"]["steps_completed"] == LIVE_SPEC["steps"]
    probes = len(result["hidden_grad"]["step"])
    rows = report["rows"]  # the heatmap's row count each time it changed, opened while running
    assert rows == sorted(set(rows)) and rows[-1] == probes, rows
    assert len([count for count in rows if 0 < count < probes]) >= 2, rows
    # Once ended, the page that followed the run draws exactly what a page opened afterwards
    # draws: every line's path, every heatmap cell's step and value.
    assert report["live"] == report["finished"]
    charts = report["finished"]
    assert charts["heatmap"]["rects"] == probes * LIVE_SPEC["seq_len"]
    assert charts["loss"]["drawn"] == len(result["loss"]["step"]) < LIVE_SPEC["steps"]
    assert charts["curves"]["paths"] == 3
    # A second page, where a reader unticked the first probe and cut the step range while the
    # run trained, kept both through every update and the end.
    reader = report["reader"]
    assert reader["ticked"] and 0 not in reader["ticked"] and reader["kept"] == reader["ticked"]
    assert reader["range"] == ["", str(reader["rangeTo"])] and reader["maxRow"] <= reader["rangeTo"]
    assert (ARTIFACTS / "experiment-live.png").stat().st_size > 10_000

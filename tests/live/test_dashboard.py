"""The dashboard in headless Chromium against the live service: every page loads from the
service alone and its charts hold the experiments' data; a running experiment's page grows as
it trains and ends equal to the finished run's page. One screenshot per page is kept under
test-artifacts/dashboard/.

Needs Debian's chromium and playwright-core in .browser/ (`make test` installs both when it
can, via scripts/browser-deps.sh); skipped, saying which is missing, otherwise.
"""

from __future__ import annotations

import base64
import json
import math
import os
import shutil
import statistics
import struct
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

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
# Unclipped SGD at a large rate on a ReLU net: its first step is recorded, its loss then
# overflows (a run with a one-step history, whose charts once had a step axis of -0.4 .. 0.4).
DIVERGING = {**TINY, "cell": "relu", "clipping": {"mode": "none"},
             "optimizer": {"name": "sgd", "lr": 5.0},
             "init": {"recurrent": "identity", "recurrent_scale": 1.0}}  # fmt: skip


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
def diverged(live: Live) -> dict:
    """A run that diverged after recording its first step."""
    job_id = live.http.post("/v1/experiments", json=DIVERGING).json()["id"]

    def ended() -> dict | None:
        job = live.http.get(f"/v1/experiments/{job_id}").json()
        return job if job["status"] in ("succeeded", "failed", "diverged") else None

    job = wait_until(ended, 60, f"experiment {job_id} ended")
    assert job["status"] == "diverged" and job["summary"]["diverged_at"] >= 1, job
    return job


@pytest.fixture(scope="module")
def pages(live: Live, diverged: dict) -> dict:
    experiment = live.sweep["experiments"][0]["id"]
    ids = ",".join(_compared(live))
    args = (experiment, live.sweep["id"], diverged["id"], str(ARTIFACTS), ids)
    return browse("pages.mjs", live.url, *args)


def _compared(live: Live) -> list[str]:
    """Two of the sweep's runs that differ in cell and sequence length."""
    return [live.sweep["experiments"][0]["id"], live.sweep["experiments"][-1]["id"]]


def _close(text: str, value: float) -> bool:
    """A number shown to four significant digits is `value`."""
    return math.isclose(float(text), value, rel_tol=5e-4, abs_tol=1e-12)


def test_home_page_has_the_form_and_the_lists_with_outcomes(pages: dict, live: Live) -> None:
    home = pages["home"]
    assert home["formFields"] >= 12  # built from /v1/meta
    assert home["rows"] >= 2 + 1  # experiments and sweeps tables with their headers
    outcomes = {row["id"]: row for row in home["outcomes"]}
    members = {e["id"]: e["summary"] for e in live.sweep["experiments"]}
    shown = [job_id for job_id in outcomes if job_id in members]
    assert shown
    for job_id in shown:
        row, summary = outcomes[job_id], members[job_id]
        assert _close(row["final_loss"], summary["final_loss"])
        assert row["horizon"] == str(summary["horizon"])
        assert row["solved"] == ("yes" if summary["solved"] else "no")
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


def _decades(low: float, high: float) -> list[int]:
    return list(range(math.ceil(low - 1e-9), math.floor(high + 1e-9) + 1))


def test_log_axes_tick_every_decade_and_the_heatmap_has_a_colour_bar(
    pages: dict, live: Live
) -> None:
    job_id = live.sweep["experiments"][0]["id"]
    norms = live.http.get(f"/v1/experiments/{job_id}/results").json()["hidden_grad"]["norm"]
    # The curves chart draws the first, middle and last probe on a log axis over their extent.
    drawn = [v for i in (0, (len(norms) - 1) // 2, len(norms) - 1) for v in norms[i][0]]
    axes = pages["experiment"]["axes"]
    assert axes["logY"]
    assert math.isclose(axes["y0"], math.log10(min(drawn)), abs_tol=1e-9)
    assert math.isclose(axes["y1"], math.log10(max(drawn)), abs_tol=1e-9)
    assert axes["decades"] == _decades(axes["y0"], axes["y1"])
    # The colour bar spans every cell's log10 value and ticks each decade within.
    logs = [math.log10(v) for probe in norms for v in probe[0]]
    bar = pages["experiment"]["colorbar"]
    assert math.isclose(bar["low"], min(logs), abs_tol=1e-9)
    assert math.isclose(bar["high"], max(logs), abs_tol=1e-9)
    assert bar["decades"] == _decades(bar["low"], bar["high"]) and bar["ticks"]
    assert all(bar["low"] - 1e-9 <= tick <= bar["high"] + 1e-9 for tick in bar["ticks"])


def test_hover_reads_out_the_data_under_the_cursor(pages: dict, live: Live) -> None:
    job_id = live.sweep["experiments"][0]["id"]
    result = live.http.get(f"/v1/experiments/{job_id}/results").json()
    head, line = pages["experiment"]["hover"]["loss"]
    step = int(line["x"])
    assert head["text"] == f"step {step}" and line["series"] == "loss"
    value = result["loss"]["loss"][result["loss"]["step"].index(step)]
    assert float(line["y"]) == value and line["text"].startswith("loss: ")
    assert _close(line["text"].removeprefix("loss: "), value)
    # The heatmap reads out the cell under the cursor.
    (cell,) = pages["experiment"]["hover"]["heatmap"]
    probe = result["hidden_grad"]["step"].index(int(cell["step"]))
    norm = result["hidden_grad"]["norm"][probe][0][int(cell["t"]) - 1]
    assert math.isclose(float(cell["log10"]), math.log10(norm), abs_tol=1e-3)
    assert cell["text"].endswith(f"= {cell['log10']}")


def test_smoothing_draws_the_moving_average_over_the_raw_curve(pages: dict, live: Live) -> None:
    job_id = live.sweep["experiments"][0]["id"]
    loss = live.http.get(f"/v1/experiments/{job_id}/results").json()["loss"]
    head, raw, smooth = pages["experiment"]["smoothed"]
    step = int(smooth["x"])
    assert head["text"] == f"step {step}"
    assert raw["series"] == "loss (raw)" and smooth["series"] == "loss" and raw["x"] == smooth["x"]
    values = loss["loss"][: loss["step"].index(step) + 1]
    assert float(raw["y"]) == values[-1]
    # TensorBoard's debiased exponential moving average, weight 0.6.
    average = 0.0
    for value in values:
        average = 0.6 * average + 0.4 * value
    expected = average / (1 - 0.6 ** len(values))
    assert math.isclose(float(smooth["y"]), expected, rel_tol=1e-12)


def test_a_chart_exports_as_svg_and_png_made_in_the_page(pages: dict) -> None:
    exported = pages["experiment"]["exported"]
    svg = exported["svg"]
    assert svg.startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in svg
    assert svg.count('class="line') == exported["lines"] > 0
    assert "readout" not in svg  # what serves the pointer stays behind
    prefix = "data:image/png;base64,"
    assert exported["png"].startswith(prefix)
    png = base64.b64decode(exported["png"].removeprefix(prefix))
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (2 * exported["width"], 2 * exported["height"])
    assert len(png) > 5_000  # drawn, not blank


def test_dragging_across_the_loss_chart_fetches_that_window(pages: dict, live: Live) -> None:
    job_id = live.sweep["experiments"][0]["id"]
    zoom = pages["experiment"]["zoom"]
    query = parse_qs(urlsplit(zoom["url"]).query)
    low, high = int(query["step_from"][0]), int(query["step_to"][0])
    assert 0 < low < high < TINY["steps"] - 1 and zoom["inputs"] == [str(low), str(high)]
    window = live.http.get(
        f"/v1/experiments/{job_id}/results", params={"step_from": low, "step_to": high}
    ).json()
    steps = window["loss"]["step"]
    assert steps == list(range(low, high + 1))
    assert zoom["drawn"] == {"count": len(steps), "domain": [low, high]}


def test_a_diverged_runs_page_shows_where_and_the_history_before_it(
    pages: dict, diverged: dict, live: Live
) -> None:
    at = diverged["summary"]["diverged_at"]
    loss = live.http.get(f"/v1/experiments/{diverged['id']}/results").json()["loss"]
    assert loss["step"] == list(range(at))  # the history before the divergence
    page = pages["diverged"]
    assert f"Diverged at training step {at} " in page["note"]
    assert page["charts"]["loss"]["drawn"] == len(loss["step"])
    for name, domain in page["domains"].items():
        # From the first step to the divergence, marked: no negative or degenerate step axis.
        assert domain["x0"] == 0 and domain["x1"] == at, name
        assert domain["divergence"] == [at], name


def _separation(groups: list[list[float]]) -> float:
    """How far apart the groups' means lie against the spread within groups."""
    means = [statistics.fmean(g) for g in groups]
    seeded = [g for g in groups if len(g) > 1]
    if not seeded:
        size = max(abs(m) for m in means)
        return (max(means) - min(means)) / size if size > 0 else 0.0
    between = statistics.pvariance(means)
    within = statistics.fmean(statistics.pvariance(g) for g in seeded)
    if between == 0:
        return 0.0
    return math.inf if within == 0 else between / within


def _telling(sweep: dict, metrics: list[str]) -> str:
    """The metric that separates the grid's combinations best against the seeds' noise."""
    best, score = metrics[0], -1.0
    for metric in metrics:
        groups: dict[str, list[float]] = {}
        for member in sweep["experiments"]:
            value = (member["summary"] or {}).get(metric)
            if value is not None and metric != "baseline_loss":
                groups.setdefault(json.dumps(member["values"]), []).append(value)
        if groups and (separation := _separation(list(groups.values()))) > score:
            best, score = metric, separation
    return best


def test_sweep_page_draws_the_comparison_the_overlay_and_the_curves(
    pages: dict, live: Live
) -> None:
    sweep = pages["sweep"]
    metrics = live.http.get("/v1/meta").json()["sweep_metrics"]
    assert sweep["metric"] == _telling(live.sweep, metrics)
    compared = live.http.get(
        f"/v1/sweeps/{live.sweep['id']}/compare", params={"metric": sweep["metric"], "x": "cell"}
    ).json()
    charts = sweep["charts"]
    # The chosen metric across the first axis (cell): one line per seq_len, a point per cell.
    assert charts["compare"]["paths"] == 2
    assert charts["compare"]["points"] == sum(
        p["mean"] is not None for s in compared["series"] for p in s["points"]
    )
    curves = live.http.get(
        f"/v1/sweeps/{live.sweep['id']}/compare", params={"metric": "hidden_grad"}
    ).json()["curves"]
    # Every combination's mean curve overlaid in one chart, besides one small chart each.
    assert charts["sweep-overlay"]["paths"] == len(curves) == 4
    assert charts["sweep-overlay"]["drawn"] == sum(len(c["mean_log10"]) for c in curves)
    assert [line["series"] for line in sweep["hover"][1:]] == [c["label"] for c in curves]
    for line, curve in zip(sweep["hover"][1:], curves, strict=True):
        t = int(line["x"])
        assert math.isclose(float(line["y"]), 10 ** curve["mean_log10"][t - 1], rel_tol=1e-12)
    assert charts["sweep-curve"]["figures"] == 4
    assert sweep["rows"] == 8 + 1
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


def test_compare_page_overlays_the_chosen_runs_one_chart_per_quantity(
    pages: dict, live: Live
) -> None:
    ids = _compared(live)
    data = live.http.get(
        "/v1/compare", params={"ids": ",".join(ids), "probe": "last", "max_points": 400}
    ).json()
    page = pages["compare"]
    labels = [run["label"] for run in data["runs"]]
    assert len(set(labels)) == 2  # each run named by its name or its differing fields
    charts = page["charts"]
    per_step = {
        "compare-loss": "loss",
        "compare-grad-norm": "grad_norm",
        "compare-horizon": "horizon",
    }
    for chart, part in per_step.items():
        assert page["legends"][chart] == labels, chart
        assert charts[chart]["paths"] == 2, chart
        assert charts[chart]["drawn"] == sum(len(series["value"]) for series in data[part]), chart
    hidden = data["hidden_grad"]
    assert page["legends"]["compare-hidden"] == labels and charts["compare-hidden"]["paths"] == 2
    drawn = sum(v is not None for values in hidden["by_t"]["values"] for v in values)
    assert charts["compare-hidden"]["drawn"] == drawn
    # Read-outs, by t and then aligned at the end (t - T), are the endpoint's values.
    for reading, aligned in (
        (page["byT"], hidden["by_t"]),
        (page["byEnd"]["hover"], hidden["by_distance"]),
    ):
        for k, line in enumerate(reading[1:]):
            assert line["series"] == labels[k]
            value = aligned["values"][k][aligned["x"].index(int(line["x"]))]
            assert value is not None and float(line["y"]) == value
    x = hidden["by_distance"]["x"]
    assert page["byEnd"]["domain"] == [min(x), max(x)] == [min(x), 0]
    # Aligned at the end, the chart draws the same values, shifted.
    assert page["counts"]["drawn"] == drawn

"""Compare on real finished experiments: the aggregates match the members' own results."""

from __future__ import annotations

import math
import statistics

from tests.live.conftest import GRID, SEEDS, Live


def test_the_sweep_ran_every_combination(live: Live) -> None:
    sweep = live.sweep
    assert sweep["counts"] == {"succeeded": 8} and sweep["size"] == 8
    values = {(row["values"]["cell"], row["values"]["seq_len"]) for row in sweep["experiments"]}
    assert values == {(cell, t) for cell in GRID["cell"] for t in GRID["seq_len"]}
    for row in sweep["experiments"]:
        job = live.http.get(f"/v1/experiments/{row['id']}").json()
        assert (
            job["spec"]["seq_len"] == row["values"]["seq_len"]
            and job["spec"]["seed"] == row["seed"]
        )
        assert row["summary"]["horizon"] == job["summary"]["gradient_horizon"][-1][0]


def test_compare_final_loss_is_mean_and_spread_over_seeds(live: Live) -> None:
    sweep = live.sweep
    data = live.http.get(f"/v1/sweeps/{sweep['id']}/compare", params={"x": "seq_len"}).json()
    assert data["x"] == "seq_len" and data["x_values"] == GRID["seq_len"]
    assert [series["values"] for series in data["series"]] == [{"cell": c} for c in GRID["cell"]]
    assert data["baseline_loss"] == sweep["experiments"][0]["summary"]["baseline_loss"]
    for series in data["series"]:
        for t, point, ids in zip(
            GRID["seq_len"], series["points"], series["experiments"], strict=True
        ):
            rows = [
                row for row in sweep["experiments"]
                if row["values"] == {"cell": series["values"]["cell"], "seq_len": t}
            ]  # fmt: skip
            assert sorted(ids) == sorted(row["id"] for row in rows) and point["n"] == SEEDS
            losses = [row["summary"]["final_loss"] for row in rows]
            assert math.isclose(point["mean"], statistics.mean(losses), rel_tol=1e-12)
            assert math.isclose(point["std"], statistics.stdev(losses), rel_tol=1e-9)
            assert (point["min"], point["max"]) == (min(losses), max(losses))


def test_compare_hidden_gradient_curves_average_log10_over_seeds(live: Live) -> None:
    sweep = live.sweep
    data = live.http.get(f"/v1/sweeps/{sweep['id']}/compare?metric=hidden_grad").json()
    assert len(data["curves"]) == 4
    for curve in data["curves"]:
        assert curve["n"] == SEEDS and len(curve["mean_log10"]) == curve["values"]["seq_len"]
        logs = []
        for job_id in curve["experiments"]:
            hidden = live.http.get(f"/v1/experiments/{job_id}/results?fields=hidden_grad").json()
            logs.append([math.log10(v) for v in hidden["hidden_grad"]["norm"][-1][0]])
        for t, mean in enumerate(curve["mean_log10"]):
            assert math.isclose(mean, statistics.mean(run[t] for run in logs), abs_tol=1e-9)


def test_compare_horizon_against_cell(live: Live) -> None:
    data = live.http.get(
        f"/v1/sweeps/{live.sweep['id']}/compare", params={"metric": "horizon", "x": "cell"}
    ).json()
    assert data["x_labels"] == GRID["cell"] and len(data["series"]) == len(GRID["seq_len"])
    for series in data["series"]:
        for point in series["points"]:
            assert 1 <= point["min"] <= point["mean"] <= point["max"] <= series["values"]["seq_len"]

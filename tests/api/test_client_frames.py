"""The Python client in-process (through a test client of the app): labels, list filters, the
comparison, and results and comparisons as pandas DataFrames."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from gradcore.result import ExperimentResult
from gradflow_client import Client, GradflowError
from tests.support.specs import TINY_SPEC


@pytest.fixture
def gradflow(client: TestClient) -> Client:
    return Client(http=client)


def test_results_frame_is_results_csv_parsed(
    client: TestClient, gradflow: Client, finished_job, trained: ExperimentResult
) -> None:
    job_id = finished_job(client)
    for query in ({}, {"fields": ["loss", "hidden_grad"], "max_points": 7}):
        frame = gradflow.results_frame(job_id, **query)
        text = gradflow.results_csv(job_id, **query)
        rows = list(csv.DictReader(io.StringIO(text)))
        assert list(frame.columns) == ["series", "step", "time_step", "value"]
        assert len(frame) == len(rows) > 0
        assert frame["series"].tolist() == [row["series"] for row in rows]
        assert frame["step"].tolist() == [int(row["step"]) for row in rows]
        # Every float exactly as the server wrote it; time_step empty for per-step values.
        assert frame["value"].tolist() == [float(row["value"]) for row in rows]
        expected_t = [int(row["time_step"]) if row["time_step"] else None for row in rows]
        assert [None if pd.isna(t) else int(t) for t in frame["time_step"]] == expected_t
    # Independent of the CSV: the loss rows are the trained result's loss.
    whole = gradflow.results_frame(job_id)
    losses = whole[whole["series"] == "loss.loss"]
    assert losses["value"].tolist() == trained.loss.loss
    assert losses["step"].tolist() == trained.loss.step


def test_compare_frame_is_the_comparison_in_long_form(
    client: TestClient, gradflow: Client, finished_job, trained: ExperimentResult
) -> None:
    first = finished_job(client, {**TINY_SPEC, "steps": 120, "name": "one"})
    second = finished_job(client, {**TINY_SPEC, "steps": 120, "seed": 1})
    answer = gradflow.compare_runs([first, second], max_points=50)
    frame = gradflow.compare_frame([first, second], max_points=50)
    assert list(frame.columns) == ["id", "label", "quantity", "x", "value"]
    assert set(frame["label"]) == {"one", "seed=1"}
    mine = frame[frame["id"] == first]
    curve = mine[mine["quantity"] == "hidden_grad.by_t"]
    assert curve["x"].tolist() == list(range(1, 21))
    assert curve["value"].tolist() == trained.hidden_grad.norm[-1][-1]
    end = mine[mine["quantity"] == "hidden_grad.by_distance"]
    assert end["x"].tolist() == list(range(-19, 1))
    loss = mine[mine["quantity"] == "loss"]
    assert loss["x"].tolist() == answer["loss"][0]["step"] and len(loss) <= 50
    assert loss["value"].tolist() == answer["loss"][0]["value"]
    horizon = mine[mine["quantity"] == "horizon"]
    assert horizon["value"].tolist() == [h[-1] for h in trained.hidden_grad.horizon]
    with pytest.raises(GradflowError) as refused:
        gradflow.compare_runs([first])
    assert refused.value.status_code == 422


def test_labels_and_list_filters_through_the_client(client: TestClient, gradflow: Client) -> None:
    tagged = gradflow.submit(TINY_SPEC, name="Baseline", tags=["a", "b"])
    other = gradflow.submit(TINY_SPEC, tags=["a"])
    assert (tagged["name"], tagged["tags"]) == ("Baseline", ["a", "b"])
    assert gradflow.patch_experiment(other["id"], notes="later")["notes"] == "later"
    assert [job["id"] for job in gradflow.list(tag=["a", "b"])] == [tagged["id"]]
    page = gradflow.list_experiments(tag="a", name="base", sort="created_at", order="asc")
    assert page["total"] == 1 and page["items"][0]["id"] == tagged["id"]
    later = datetime.now(UTC) + timedelta(hours=1)
    assert gradflow.list_experiments(created_after=later)["total"] == 0
    assert gradflow.list_experiments(created_before=later)["total"] == 2
    sweep = gradflow.submit_sweep(TINY_SPEC, {"seq_len": [10, 12]}, name="lengths")
    assert gradflow.patch_sweep(sweep["id"], tags=["x"])["tags"] == ["x"]
    assert gradflow.list_experiments(sweep=sweep["id"])["total"] == 2

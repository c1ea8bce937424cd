"""Names, tags and notes of experiments and sweeps, and the lists' filters, sorts and pages, on
SQLite and PostgreSQL (no worker runs: jobs end through the store, as a worker's would)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient
from sqlalchemy import update

from api import labels
from api.app import create_app
from gradcore.result import ExperimentResult
from jobs import keys, store
from jobs.models import Job
from jobs.settings import Settings
from tests.support.specs import TINY_SPEC

LIST = "/v1/experiments"


@pytest.fixture
def both(database: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(database)) as client:
        yield client


def _submit(client: TestClient, **labels) -> str:
    response = client.post(LIST, json={**TINY_SPEC, **labels})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _ids(client: TestClient, **query) -> list[str]:
    response = client.get(LIST, params=query)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def _finish(client: TestClient, job_id: str, summary: ExperimentResult) -> None:
    with client.app.state.sessions() as session:
        attempt = store.start_job(session, job_id, "test-worker")
        assert store.finish_job(session, job_id, summary, attempt) == "succeeded"


def test_labels_are_kept_beside_the_spec_and_changed_by_patch(both: TestClient) -> None:
    job_id = _submit(both, name="tanh baseline", tags=["t2", "a:1"], notes="first try")
    job = both.get(f"{LIST}/{job_id}").json()
    assert (job["name"], job["tags"], job["notes"]) == ("tanh baseline", ["a:1", "t2"], "first try")
    assert "name" not in job["spec"] and job["spec"]["cell"] == "tanh"
    listed = both.get(LIST).json()["items"][0]
    assert (listed["name"], listed["tags"], "notes" in listed) == (
        "tanh baseline",
        ["a:1", "t2"],
        False,
    )

    # Only what the body names changes; a kept tag and a new one together.
    patched = both.patch(f"{LIST}/{job_id}", json={"tags": ["t2", "b.2"]}).json()
    assert (patched["name"], patched["tags"], patched["notes"]) == (
        "tanh baseline",
        ["b.2", "t2"],
        "first try",
    )
    patched = both.patch(f"{LIST}/{job_id}", json={"name": None, "notes": "x" * 10_000}).json()
    assert (patched["name"], patched["tags"], len(patched["notes"])) == (
        None,
        ["b.2", "t2"],
        10_000,
    )
    assert both.patch(f"{LIST}/{job_id}", json={"tags": []}).json()["tags"] == []
    assert both.get(f"{LIST}/{job_id}").json()["tags"] == []


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"seq_len": 30}, "seq_len", "unknown field; the fields here are name, notes, tags"),
        ({}, "body", "at least one of name, tags, notes"),
        ({"tags": ["ok", "-bad"]}, "tags", "pattern"),
        ({"tags": ["a", "b", "a"]}, "tags", "a given more than once"),
        ({"tags": [f"t{i}" for i in range(33)]}, "tags", "at most 32"),
        ({"tags": ["x" * 65]}, "tags", "pattern"),
        ({"name": ""}, "name", "at least 1"),
        ({"name": "n" * 201}, "name", "at most 200"),
        ({"notes": "n" * 10_001}, "notes", "at most 10000"),
        ({"tags": None}, "tags", "valid list"),
    ],
)
def test_a_bad_patch_is_a_422_naming_the_field_and_changes_nothing(
    client: TestClient, body: dict, field: str, words: str
) -> None:
    job_id = _submit(client, name="kept", tags=["kept"])
    for path in (f"{LIST}/{job_id}", f"/v1/sweeps/{_sweep(client)}"):
        response = client.patch(path, json=body)
        assert response.status_code == 422, (path, response.text)
        (error, *_) = response.json()["detail"]
        assert field in error["loc"] and words in error["msg"], error
    job = client.get(f"{LIST}/{job_id}").json()
    assert (job["name"], job["tags"]) == ("kept", ["kept"])


def test_bad_labels_at_submission_are_refused_and_store_nothing(client: TestClient) -> None:
    for given, field in [({"tags": ["a", "a"]}, "tags"), ({"name": "n" * 201}, "name")]:
        response = client.post(LIST, json={**TINY_SPEC, **given})
        assert response.status_code == 422 and response.json()["detail"][0]["loc"][1] == field
        response = client.post(
            "/v1/sweeps", json={"base": TINY_SPEC, "grid": {"seq_len": [9]}, **given}
        )
        assert response.status_code == 422 and response.json()["detail"][0]["loc"][1] == field
    assert client.get(LIST).json()["total"] == 0


def test_patch_sees_only_the_callers_own(client: TestClient) -> None:
    with client.app.state.sessions() as session:
        alice, bob = (
            {"Authorization": f"Bearer {keys.create_key(session, name)[1]}"} for name in ("a", "b")
        )
    job_id = client.post(LIST, json=TINY_SPEC, headers=alice).json()["id"]
    sweep_id = client.post("/v1/sweeps", json=_sweep_body(), headers=alice).json()["id"]
    for path in (f"{LIST}/{job_id}", f"/v1/sweeps/{sweep_id}"):
        assert client.patch(path, json={"name": "mine"}, headers=bob).status_code == 404
        assert client.patch(path, json={"name": "mine"}, headers=alice).json()["name"] == "mine"


def test_a_patch_racing_another_or_a_delete_is_refused_whole(both: TestClient) -> None:
    job_id = _submit(both, tags=["a"])
    sessions = both.app.state.sessions
    with sessions() as mine, sessions() as theirs:
        job = mine.get(Job, job_id)
        assert job.tags == ["a"]  # read before the other PATCH commits
        labels.apply(theirs.get(Job, job_id), {"tags": ["a", "b"]})
        labels.save(theirs, "experiment", job_id)
        labels.apply(job, {"tags": ["b"], "name": "lost"})  # "b" is stored meanwhile
        with pytest.raises(HTTPException) as refused:
            labels.save(mine, "experiment", job_id)
        assert refused.value.status_code == 409 and "send it again" in refused.value.detail
    job = both.get(f"{LIST}/{job_id}").json()
    assert (job["tags"], job["name"]) == (["a", "b"], None)

    with sessions() as mine:
        job = mine.get(Job, job_id)
        assert both.delete(f"{LIST}/{job_id}").status_code == 204
        labels.apply(job, {"name": "gone"})
        with pytest.raises(HTTPException) as refused:
            labels.save(mine, "experiment", job_id)
        assert refused.value.status_code == 404


def _sweep_body(**labels) -> dict:
    base = {key: value for key, value in TINY_SPEC.items() if key != "cell"}
    return {"base": base, "grid": {"cell": ["tanh", "lstm"]}, **labels}


def _sweep(client: TestClient, **labels) -> str:
    response = client.post("/v1/sweeps", json=_sweep_body(**labels))
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_sweeps_carry_labels_and_their_list_filters_by_them(both: TestClient) -> None:
    first = _sweep(both, name="Cells at T=20", tags=["cells", "short"], notes="why")
    second = _sweep(both, name="cells again", tags=["cells"])
    sweep = both.get(f"/v1/sweeps/{first}").json()
    assert (sweep["name"], sweep["tags"], sweep["notes"]) == (
        "Cells at T=20",
        ["cells", "short"],
        "why",
    )

    def listed(**query) -> list[str]:
        response = both.get("/v1/sweeps", params=query)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert listed(tag="cells") == [second, first]
    assert listed(tag=["cells", "short"]) == [first]
    assert listed(name="CELLS AT") == [first]
    assert listed(tag="none") == []
    patched = both.patch(f"/v1/sweeps/{second}", json={"tags": ["short"], "notes": "n"}).json()
    assert (patched["tags"], patched["notes"], patched["name"]) == (["short"], "n", "cells again")
    assert listed(tag="short") == [second, first]
    # The sweep's labels are its own: its experiments have none, and the sweep filter finds them.
    members = [row["id"] for row in patched["experiments"]]
    assert sorted(_ids(both, sweep=second)) == sorted(members)
    assert _ids(both, tag="short") == []


def test_experiments_filter_by_tags_name_sweep_status_and_time(both: TestClient) -> None:
    a = _submit(both, name="LSTM 100% long", tags=["lstm", "long"])
    b = _submit(both, name="lstm_short", tags=["lstm"])
    c = _submit(both, name="tanh", tags=["long"])
    d = _submit(both)
    assert _ids(both) == [d, c, b, a]
    assert _ids(both, tag="lstm") == [b, a]
    assert _ids(both, tag=["lstm", "long"]) == [a]
    assert _ids(both, tag="missing") == []
    assert _ids(both, name="Lstm") == [b, a]
    # LIKE's wildcards are matched as themselves.
    assert _ids(both, name="100%") == [a] and _ids(both, name="m_s") == [b]
    assert _ids(both, name="%") == [a] and _ids(both, name="_") == [b]
    assert both.get(LIST, params={"tag": "lstm", "limit": 1}).json()["total"] == 2
    both.post(f"{LIST}/{c}/cancel")
    assert (
        _ids(both, status="cancelled") == [c] and _ids(both, status="cancelled", tag="lstm") == []
    )

    # Creation times an hour apart, written as naive UTC, with an offset, and compared.
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with both.app.state.sessions() as session:
        for hours, job_id in enumerate([a, b, c, d]):
            at = start + timedelta(hours=hours)
            session.execute(update(Job).where(Job.id == job_id).values(created_at=at))
        session.commit()
    assert _ids(both, created_after="2026-01-01T01:00:00") == [d, c, b]
    assert _ids(both, created_before="2026-01-01T02:00:00Z") == [b, a]
    # 00:30 UTC; d was created at 03:00, which `created_before` excludes.
    after, before = "2026-01-01T01:30:00+01:00", "2026-01-01T03:00:00+00:00"
    assert _ids(both, created_after=after, created_before=before) == [c, b]
    response = both.get(LIST, params={"created_after": before, "created_before": after})
    assert response.status_code == 422 and "created_before" in response.json()["detail"][0]["loc"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"sort": "loss"}, "sort"),
        ({"order": "up"}, "order"),
        ({"tag": "a b"}, "tag"),
        ({"sweep": "nope"}, "sweep"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"created_before": "0.5"}, "created_before"),  # not read as a Unix time
        ({"created_before": "2026-01-01"}, "created_before"),  # a date without a time
        ({"name": "n" * 201}, "name"),
    ],
)
def test_bad_list_queries_are_a_422_naming_the_parameter(
    client: TestClient, query: dict, field: str
) -> None:
    response = client.get(LIST, params=query)
    assert response.status_code == 422 and field in response.json()["detail"][0]["loc"]


def test_sorts_put_runs_without_the_number_last_and_page_stably(
    both: TestClient, trained: ExperimentResult
) -> None:
    summary = trained.summary
    losses = [0.5, 0.25, 0.5, 0.75, 0.5]
    ended = []
    for index, loss in enumerate(losses):
        job_id = _submit(both)
        # The top layer's horizon at the last probe is what sorts: earlier probes differ.
        horizons = [[99], [index]]
        rate = summary.steps_per_second + index
        _finish(both, job_id, summary.model_copy(update={
            "final_loss": loss, "gradient_horizon": horizons, "steps_per_second": rate,
        }))  # fmt: skip
        ended.append(job_id)
    queued = _submit(both)

    def full(**query) -> list[str]:
        return _ids(both, limit=200, **query)

    by_loss = sorted(range(len(losses)), key=lambda i: (losses[i], ended[i]))
    assert full(sort="final_loss", order="asc") == [ended[i] for i in by_loss] + [queued]
    by_loss_down = sorted(range(len(losses)), key=lambda i: (-losses[i], _neg(ended[i])))
    assert full(sort="final_loss") == [ended[i] for i in by_loss_down] + [queued]
    assert full(sort="horizon", order="asc") == [*ended, queued]
    assert full(sort="steps_per_second") == [*reversed(ended), queued]
    assert full(sort="eval_metric") == [*sorted(ended, reverse=True), queued]  # ties: by id
    assert full(sort="created_at", order="asc") == [*ended, queued]
    job = both.get(f"{LIST}/{ended[3]}").json()
    assert job["numbers"] == {
        "final_loss": 0.75, "eval_metric": summary.eval_metric, "horizon": 3,
        "steps_per_second": summary.steps_per_second + 3,
    }  # fmt: skip
    assert both.get(f"{LIST}/{queued}").json()["numbers"] is None

    # Pages of two, concatenated, are the whole order, each run once.
    for sort, order in [("final_loss", "asc"), ("final_loss", "desc"), ("eval_metric", "asc")]:
        pages = [
            job_id
            for offset in (0, 2, 4)
            for job_id in _ids(both, sort=sort, order=order, limit=2, offset=offset)
        ]
        assert pages == full(sort=sort, order=order)


def _neg(job_id: str) -> tuple[int, ...]:
    """A key that sorts ids in reverse."""
    return tuple(-ord(char) for char in job_id)

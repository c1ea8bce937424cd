"""`Client(base_url, api_key)`: submit experiments and sweeps, follow them, fetch results.

Answers are the API's JSON as plain dicts and lists; `results_frame` and `compare_frame` give
pandas DataFrames instead (`pip install gradflow[pandas]`). Errors raise GradflowError with the
server's status code and its `detail`, which says what to do.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx

from gradflow_client import frames
from gradflow_client.follow import RunEvent, typed
from gradflow_client.sse import Event, follow

if TYPE_CHECKING:
    import pandas as pd

ProgressCallback = Callable[[dict[str, Any]], None]


class GradflowError(Exception):
    """The server refused a request: `status_code`, and its `detail` as sent (for a 422, a
    list of {loc, msg, ...}); str() gives one line per refused field."""

    def __init__(self, status_code: int, detail: Any) -> None:
        super().__init__(f"HTTP {status_code}: {explain(detail)}")
        self.status_code = status_code
        self.detail = detail


def explain(detail: Any) -> str:
    """A 422's field errors as lines "field.path: why" (a query or path parameter's marked
    so); any other detail as it is."""
    if not (isinstance(detail, list) and all(_is_field_error(e) for e in detail) and detail):
        return str(detail)
    lines = []
    for error in detail:
        where, *path = error["loc"]
        name = ".".join(map(str, path)) or where
        lines.append(
            f"{name}: {error['msg']}" if where == "body" else f"{name} ({where}): {error['msg']}"
        )
    return "the request was refused:\n  " + "\n  ".join(lines)


def _is_field_error(error: Any) -> bool:
    return isinstance(error, dict) and bool(error.get("loc")) and "msg" in error


class Client:
    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        api_key: str | None = None,
        timeout: float = 30.0,
        http: httpx.Client | None = None,
    ) -> None:
        """`http`: an httpx client to send through instead (its base URL and headers as they
        are), such as a test client of the app."""
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = http or httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self._http.request(method, path, **kwargs)
        if response.is_error:
            raise _refusal(response)
        return response

    # ---- experiments ---------------------------------------------------------------------

    def submit(
        self,
        spec: dict[str, Any],
        name: str | None = None,
        tags: list[str] | None = None,
        notes: str | None = None,
    ) -> dict[str, Any]:
        """Queue one experiment, labelled with a name, tags and notes if given; returns the job
        (its `id`, `status`: queued, ...)."""
        labels = {"name": name, "tags": tags, "notes": notes}
        body = {**spec, **{key: value for key, value in labels.items() if value is not None}}
        return self._call("POST", "/v1/experiments", json=body).json()

    def get(self, experiment_id: str) -> dict[str, Any]:
        return self._call("GET", f"/v1/experiments/{experiment_id}").json()

    def patch_experiment(self, experiment_id: str, **labels: Any) -> dict[str, Any]:
        """Change an experiment's name, tags or notes (only those given; None removes a name
        or notes, [] every tag); returns the experiment."""
        return self._call("PATCH", f"/v1/experiments/{experiment_id}", json=labels).json()

    def list_experiments(self, **filters: Any) -> dict[str, Any]:
        """One page of experiments, {items, total, limit, offset}. Filters: tag (a tag or a
        list: all of them), name (a substring), sweep, status, cell, task, created_after and
        created_before (datetimes or ISO strings); sort (created_at, final_loss, eval_metric,
        horizon, steps_per_second), order (asc, desc), limit, offset."""
        return self._call("GET", "/v1/experiments", params=_query(filters)).json()

    def list(self, **filters: Any) -> list[dict[str, Any]]:
        """The items of `list_experiments` (newest first unless sorted otherwise)."""
        return self.list_experiments(**filters)["items"]

    def cancel(self, experiment_id: str) -> dict[str, Any]:
        return self._call("POST", f"/v1/experiments/{experiment_id}/cancel").json()

    def delete(self, experiment_id: str) -> None:
        self._call("DELETE", f"/v1/experiments/{experiment_id}")

    def events(self, experiment_id: str, timeout: float | None = None) -> Iterator[Event]:
        """The experiment's live events (traces, status, progress, end) as sent, reconnecting
        as needed."""
        return self._follow(f"/v1/experiments/{experiment_id}/events", timeout)

    def follow(
        self,
        experiment_id: str,
        last_event_id: str | None = None,
        timeout: float | None = None,
    ) -> Iterator[RunEvent]:
        """The experiment as it trains, until it ends: Traces (the entries stored since the
        previous Traces; `gradflow_client.merge` them), Status, Progress, then End. A dropped
        connection resumes with Last-Event-ID, the traces without gaps or repeats; so does a
        later call given the `id` of the last Traces received."""
        path = f"/v1/experiments/{experiment_id}/events"
        for event in self._follow(path, timeout, last_event_id):
            if (run_event := typed(event)) is not None:
                yield run_event

    def wait(
        self,
        experiment_id: str,
        on_progress: ProgressCallback | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Block until the experiment ends; `on_progress` gets each new progress from its
        first step on ({step, total, fraction, loss, eta_seconds}), never the same one twice.
        Returns the finished job."""
        self._drain(self.events(experiment_id, timeout), on_progress)
        return self.get(experiment_id)

    def results(self, experiment_id: str, **query: Any) -> dict[str, Any]:
        """The result document; query: fields (list or comma string), step_from, step_to,
        max_points."""
        return self._call(
            "GET", f"/v1/experiments/{experiment_id}/results", params=_query(query)
        ).json()

    def results_csv(self, experiment_id: str, **query: Any) -> str:
        """The result as tidy CSV: series,step,time_step,value."""
        path = f"/v1/experiments/{experiment_id}/results.csv"
        return self._call("GET", path, params=_query(query)).text

    def results_frame(self, experiment_id: str, **query: Any) -> pd.DataFrame:
        """The result as a pandas DataFrame in the tidy long form of results.csv (columns
        series, step, time_step, value); the same query as `results`."""
        return frames.results_frame(self.results_csv(experiment_id, **query))

    def compare_runs(
        self, experiment_ids: list[str], probe: str | int = "last", max_points: int = 1000
    ) -> dict[str, Any]:
        """GET /v1/compare: 2 to 16 experiments aligned (see the API reference)."""
        params = {"ids": ",".join(experiment_ids), "probe": probe, "max_points": max_points}
        return self._call("GET", "/v1/compare", params=params).json()

    def compare_frame(
        self, experiment_ids: list[str], probe: str | int = "last", max_points: int = 1000
    ) -> pd.DataFrame:
        """`compare_runs` as a long DataFrame: id, label, quantity, x, value."""
        return frames.compare_frame(self.compare_runs(experiment_ids, probe, max_points))

    # ---- sweeps --------------------------------------------------------------------------

    def submit_sweep(
        self, base: dict[str, Any], grid: dict[str, list[Any]], seeds: int = 1, **labels: Any
    ) -> dict[str, Any]:
        """One experiment per combination of `grid` ({dotted path: values}) and seed; labels:
        name, tags, notes of the sweep."""
        body = {"base": base, "grid": grid, "seeds": seeds, **labels}
        return self._call("POST", "/v1/sweeps", json=body).json()

    def sweep(self, sweep_id: str) -> dict[str, Any]:
        return self._call("GET", f"/v1/sweeps/{sweep_id}").json()

    def patch_sweep(self, sweep_id: str, **labels: Any) -> dict[str, Any]:
        """Change a sweep's name, tags or notes (only those given)."""
        return self._call("PATCH", f"/v1/sweeps/{sweep_id}", json=labels).json()

    def compare(
        self, sweep_id: str, metric: str = "final_loss", x: str | None = None
    ) -> dict[str, Any]:
        """A sweep's comparison; `compare_runs` compares any experiments."""
        params = {"metric": metric, **({"x": x} if x else {})}
        return self._call("GET", f"/v1/sweeps/{sweep_id}/compare", params=params).json()

    def cancel_sweep(self, sweep_id: str) -> dict[str, Any]:
        return self._call("POST", f"/v1/sweeps/{sweep_id}/cancel").json()

    def wait_sweep(
        self,
        sweep_id: str,
        on_progress: ProgressCallback | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Block until no experiment of the sweep is queued or running; `on_progress` gets
        {counts, done, size, fraction}. Returns the sweep."""
        self._drain(self._follow(f"/v1/sweeps/{sweep_id}/events", timeout), on_progress)
        return self.sweep(sweep_id)

    # ---- reproductions ------------------------------------------------------------------

    def reproductions(self) -> list[dict[str, Any]]:
        """The gallery: each claim with its citation, predicate and plans per scale."""
        return self._call("GET", "/v1/reproductions").json()["items"]

    def reproduce(self, name: str, scale: str = "cpu", seeds: int | None = None) -> dict[str, Any]:
        """Start a claim of the gallery as sweeps; returns the run (`id`, `sweeps`, `status`)."""
        body = {"scale": scale, **({"seeds": seeds} if seeds is not None else {})}
        return self._call("POST", f"/v1/reproductions/{name}", json=body).json()

    def reproduction(self, run_id: str) -> dict[str, Any]:
        """The run's verdict: `status` pending, passed, failed or undecided, and `measured`."""
        return self._call("GET", f"/v1/reproductions/runs/{run_id}").json()

    def wait_reproduction(
        self,
        run_id: str,
        on_progress: ProgressCallback | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Block until every sweep of the run has ended (`on_progress` as in wait_sweep, per
        sweep); returns the run with its verdict."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for sweep_id in self.reproduction(run_id)["sweeps"]:
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            self.wait_sweep(sweep_id, on_progress, left)
        return self.reproduction(run_id)

    # ---- internals -----------------------------------------------------------------------

    def _follow(
        self, path: str, timeout: float | None, last_id: str | None = None
    ) -> Iterator[Event]:
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            yield from follow(self._http, path, deadline, last_id)
        except httpx.HTTPStatusError as exc:
            raise _refusal(exc.response) from exc

    @staticmethod
    def _drain(events: Iterator[Event], on_progress: ProgressCallback | None) -> None:
        """Calls `on_progress` with each progress that says something new: not an experiment's
        before its first step (no loss, no rate yet), nor one equal to the last delivered (the
        stream repeats it when something else changed)."""
        delivered: dict[str, Any] | None = None
        for event in events:
            if event.name != "progress" or on_progress is None:
                continue
            if event.data == delivered or event.data.get("step", 1) == 0:
                continue
            delivered = event.data
            on_progress(event.data)


def _refusal(response: httpx.Response) -> GradflowError:
    try:
        detail = response.json().get("detail", response.text)
    except (ValueError, AttributeError):  # not JSON, or JSON but not an object
        detail = response.text
    return GradflowError(response.status_code, detail)


def _query(query: dict[str, Any]) -> dict[str, Any]:
    fields = query.get("fields")
    if isinstance(fields, list | tuple):
        query = {**query, "fields": ",".join(fields)}
    # Times as ISO 8601; lists (tag) go as repeated parameters.
    return {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in query.items()
        if value is not None
    }

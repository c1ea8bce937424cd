"""GET /v1/experiments/{id}/results.csv: a result for spreadsheets and Grafana."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from api.deps import SessionDep
from api.result_view import view_result
from api.routes.experiments import finished_result
from api.schemas import ResultQuery
from api.tidy import csv_chunks, tidy_rows

router = APIRouter(tags=["experiments"])


@router.get(
    "/experiments/{job_id}/results.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "series,step,time_step,value"}},
)
def results_csv(
    job_id: str, session: SessionDep, query: Annotated[ResultQuery, Query()]
) -> StreamingResponse:
    """The result in tidy long form, one row per step and series (hidden_grad: per time step
    too); the same `fields`, step range and `max_points` as GET .../results."""
    document = finished_result(session, job_id)
    view = view_result(document, query.field_list, query.step_from, query.step_to, query.max_points)
    return StreamingResponse(
        csv_chunks(tidy_rows(view)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{job_id}.csv"'},
    )

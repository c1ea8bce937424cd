"""GET /v1/experiments/{id}/results.csv: a result for spreadsheets and Grafana."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from api.deps import SessionDep
from api.ids import JobId
from api.responses import refusals
from api.routes.experiments import stored_result
from api.schemas import ResultQuery
from api.tidy import csv_chunks
from api.trace_stream import csv_rows, marks

router = APIRouter(tags=["experiments"])


@router.get(
    "/experiments/{job_id}/results.csv",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/csv": {}},
            "description": "series,step,time_step,value. X-Gradflow-Partial: true while the "
            "job runs (the rows stored so far); X-Gradflow-Last-Step: the last step stored.",
        }
    }
    | refusals(404, 409),
)
def results_csv(
    job_id: JobId, request: Request, session: SessionDep, query: Annotated[ResultQuery, Query()]
) -> StreamingResponse:
    """The result in tidy long form, one row per step and series (hidden_grad: per time step
    too); the same `fields`, step range and `max_points` as GET .../results, partial too."""
    stored = stored_result(session, job_id)
    session.close()  # the stream reads with a session of its own
    rows = csv_rows(
        request.app.state.sessions,
        stored,
        query.field_list,
        query.step_from,
        query.step_to,
        query.max_points,
    )
    headers = {
        "Content-Disposition": f'attachment; filename="{job_id}.csv"',
        "X-Gradflow-Partial": "true" if marks(stored)["partial"] else "false",
    }
    if stored.last_step is not None:
        headers["X-Gradflow-Last-Step"] = str(stored.last_step)
    return StreamingResponse(
        csv_chunks(rows), media_type="text/csv; charset=utf-8", headers=headers
    )

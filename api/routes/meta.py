"""GET /v1/meta: everything a dashboard needs to build its experiment form."""

from __future__ import annotations

import dataclasses
from typing import get_args

from fastapi import APIRouter

from api.compare import SCALAR_METRICS
from api.deps import SettingsDep
from api.limits import effective_limits, effective_schema
from api.responses import BODY, refusals
from api.schemas import EstimateOut, MetaOut
from gradcore import estimate
from gradcore.spec import (
    RECURRENT_CELLS,
    Cell,
    ClipNone,
    ClipNorm,
    ClipValue,
    ExperimentSpec,
    InitScheme,
    OptimizerSpec,
    Task,
    TrainingSpec,
)
from gradcore.tasks import describe_tasks
from jobs.datasets import available_datasets
from jobs.result_view import RESULT_FIELDS, entry_keys
from jobs.statuses import FINAL_STATUSES, STATUSES

router = APIRouter(tags=["service"])

ESTIMATES = {
    "cost": " ".join((estimate.estimate_work.__doc__ or "").split()),
    "memory": " ".join((estimate.__doc__ or "").split()),
}


def _choices(model: type, field: str) -> list[str]:
    return list(get_args(model.model_fields[field].annotation))


@router.get("/meta", response_model=MetaOut)
def meta(settings: SettingsDep) -> MetaOut:
    return MetaOut(
        cells=list(get_args(Cell)),
        recurrent_cells=list(RECURRENT_CELLS),
        tasks=list(get_args(Task)),
        task_details=describe_tasks(),
        inits=list(get_args(InitScheme)),
        clipping_modes=[
            mode for clip in (ClipNone, ClipNorm, ClipValue) for mode in _choices(clip, "mode")
        ],
        optimizers=_choices(OptimizerSpec, "name"),
        training_modes=_choices(TrainingSpec, "mode"),
        limits=effective_limits(settings),
        datasets=available_datasets(settings.data_dir),
        statuses=list(STATUSES),
        final_statuses=list(FINAL_STATUSES),
        result_fields=list(RESULT_FIELDS),
        result_entries=entry_keys(),
        sweep_metrics=list(SCALAR_METRICS),
        spec_schema=effective_schema(settings),
        cost_limit=settings.limit_cost,
        memory_limit_bytes=settings.worker_memory_bytes,
        estimates=ESTIMATES,
    )


@router.post("/estimate", response_model=EstimateOut, responses=refusals(*BODY))
def estimate_spec(spec: ExperimentSpec, settings: SettingsDep) -> EstimateOut:
    """The memory and work a spec would need, against this server's limits (nothing is run)."""
    memory = estimate.estimate_memory(spec)
    cost = estimate.estimate_work(spec)
    return EstimateOut(
        peak_bytes=memory.peak,
        memory_parts=dataclasses.asdict(memory),
        memory_limit_bytes=settings.worker_memory_bytes,
        cost=cost,
        cost_limit=settings.limit_cost,
        admitted=memory.peak <= settings.worker_memory_bytes and cost <= settings.limit_cost,
    )

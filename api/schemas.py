"""The API's own models: query parameters in, responses out. The POST body is gradcore's
ExperimentSpec with labels beside its fields (api/labels.py), so the service accepts exactly
what the engine can run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    create_model,
    field_validator,
    model_validator,
)

from gradcore.result import ExperimentResult, Summary
from gradcore.spec import ExperimentSpec
from jobs.models import Job
from jobs.result_view import RESULT_FIELDS
from jobs.statuses import ACTIVE_STATUSES, JobStatus

PAGE_SIZE_MAX = 200
# Bounded: the database refuses integers past 64 bits with an error, not an empty page.
OFFSET_MAX = 1_000_000_000


def _as_utc(moment: datetime) -> datetime:
    # SQLite returns naive datetimes; every stored time is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]


# ---- query parameters --------------------------------------------------------------------


class ResultQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fields: str | None = Field(
        None,
        description=f"Comma-separated parts to return, of: {', '.join(RESULT_FIELDS)}. Unset: all.",
        # Stated in the schema; enforced by _known_fields, whose message lists the names.
        json_schema_extra={
            "pattern": f"^({'|'.join(RESULT_FIELDS)})(,({'|'.join(RESULT_FIELDS)}))*$"
        },
    )
    step_from: int | None = Field(None, ge=0, description="Keep trace entries with step >= this")
    step_to: int | None = Field(
        None, ge=0, description="Keep trace entries with step <= this; at least step_from"
    )
    max_points: int | None = Field(
        None,
        ge=2,
        le=1_000_000,
        description="Downsample each trace to at most this many points, keeping the first, "
        "the last and every series' minimum and maximum per bucket.",
    )

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, value: str | None) -> str | None:
        if value is None:
            return None
        unknown = [name for name in value.split(",") if name not in RESULT_FIELDS]
        if unknown:
            raise ValueError(
                f"unknown {', '.join(map(repr, unknown))}; use a comma list of "
                f"{', '.join(RESULT_FIELDS)}"
            )
        return value

    @model_validator(mode="after")
    def _ordered_range(self) -> ResultQuery:
        if None not in (self.step_from, self.step_to) and self.step_from > self.step_to:
            raise ValueError("step_from: must not exceed step_to")
        return self

    @property
    def field_list(self) -> list[str]:
        if self.fields is None:
            return list(RESULT_FIELDS)
        return list(dict.fromkeys(self.fields.split(",")))


# ---- responses ---------------------------------------------------------------------------


class ProgressOut(BaseModel):
    step: int = Field(description="training steps completed")
    total: int
    fraction: float
    loss: float | None = Field(description="the latest training loss")
    eta_seconds: float | None = Field(description="estimated time to finish; null until known")

    @classmethod
    def from_job(cls, job: Job) -> ProgressOut:
        step, total, elapsed = job.progress_step, job.progress_total, job.progress_elapsed_s
        # The rate so far predicts the rest; it is known once a running job made a step.
        known = job.status == JobStatus.running and step > 0 and elapsed is not None
        return cls(
            step=step,
            total=total,
            fraction=job.progress_fraction,
            loss=job.progress_loss,
            eta_seconds=elapsed * (total - step) / step if known else None,
        )


class NumbersOut(BaseModel):
    """The summary's numbers a list sorts by (GET /v1/experiments?sort=...)."""

    final_loss: float | None
    eval_metric: float | None
    horizon: int | None = Field(description="the top layer's gradient horizon, last probe")
    steps_per_second: float | None

    @classmethod
    def from_job(cls, job: Job) -> NumbersOut | None:
        if job.summary is None:
            return None
        return cls(**{name: getattr(job, name) for name in cls.model_fields})


class ExperimentBrief(BaseModel):
    """A job as listed: everything but its summary and notes."""

    id: str
    name: str | None
    tags: list[str]
    status: JobStatus
    cancel_requested: bool = Field(description="a cancel was asked while running")
    spec: ExperimentSpec
    progress: ProgressOut
    created_at: UtcDatetime
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None
    error: str | None = Field(description="why it failed and what to do")
    numbers: NumbersOut | None = Field(description="null until the run has ended")

    @classmethod
    def from_job(cls, job: Job, **extra: Any) -> ExperimentBrief:
        return cls(
            id=job.id,
            name=job.name,
            tags=job.tags,
            status=job.status,
            cancel_requested=job.cancel_requested,
            spec=ExperimentSpec.model_validate(job.spec),
            progress=ProgressOut.from_job(job),
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            error=job.error,
            numbers=NumbersOut.from_job(job),
            **extra,
        )


class ResumeOut(BaseModel):
    step: int = Field(description="the training step the run continued from (0: from the start)")
    at: UtcDatetime
    reason: str = Field(description="what interrupted the run before")


class ExperimentOut(ExperimentBrief):
    notes: str | None
    summary: Summary | None = Field(description="set once the run has finished")
    resumes: list[ResumeOut] = Field(
        description="each time the run was interrupted (its process killed, its worker lost or "
        "stopped) and continued from its last checkpoint"
    )
    checkpoint_step: int | None = Field(
        description="while it runs: the step its last checkpoint resumes at, if any"
    )

    @classmethod
    def from_job(cls, job: Job, **extra: Any) -> ExperimentOut:
        return super().from_job(
            job,
            notes=job.notes,
            summary=job.summary,
            resumes=job.resumes or [],
            checkpoint_step=job.checkpoint_step if job.status in ACTIVE_STATUSES else None,
            **extra,
        )


# GET .../results: every part of gradcore's result, each absent when `fields` does not ask for
# it (and the summary null until the run has finished), then how far the run has come. Built
# from ExperimentResult, so a part added to the result is served without a second list here.
ResultOut = create_model(
    "ResultOut",
    __doc__="GET .../results: the parts asked for by `fields` (absent when not asked), cut as "
    "asked. A running job's result holds what its run has stored so far.",
    **{
        name: (field.annotation | None, Field(None, description=field.description))
        for name, field in ExperimentResult.model_fields.items()
    },
    partial=(bool, Field(description="the run is still going: later reads may return more")),
    last_step=(
        int | None,
        Field(
            description="the last training step stored (null: none yet); a poller passes "
            "step_from = last_step + 1 to get only what is new"
        ),
    ),
)


class ExperimentPage(BaseModel):
    items: list[ExperimentBrief]
    total: int = Field(description="jobs matching the filters, over all pages")
    limit: int
    offset: int


class WorkerOut(BaseModel):
    name: str
    started_at: UtcDatetime
    last_seen: UtcDatetime


class Check(BaseModel):
    ok: bool
    detail: str


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    database: Check
    broker: Check
    workers: list[WorkerOut] = Field(description="workers with a heartbeat in the last minute")


class MetaOut(BaseModel):
    cells: list[str]
    recurrent_cells: list[str]
    tasks: list[str]
    task_details: Any = Field(description="gradcore's description of each task")
    inits: list[str]
    clipping_modes: list[str]
    optimizers: list[str]
    training_modes: list[str]
    limits: dict[str, float] = Field(
        description="the largest value of each bounded spec field on this server: gradcore's "
        "bound, or this server's setting where that is tighter"
    )
    datasets: list[str] = Field(description="datasets this server has, for pixel_mnist tasks")
    statuses: list[JobStatus]
    final_statuses: list[JobStatus] = Field(description="a job in one never changes again")
    result_fields: list[str]
    result_entries: dict[str, list[str]] = Field(
        description="per trace part, its fields with one entry per step (per probe for "
        "hidden_grad and dynamics): what a client appends to as a run's traces arrive"
    )
    sweep_metrics: list[str] = Field(
        description="the scalar metrics GET /v1/sweeps/{id}/compare plots across a grid axis "
        "(metric hidden_grad gives curves instead)"
    )
    spec_schema: dict[str, Any] = Field(
        description="JSON Schema of the POST body, its maximums lowered to this server's limits"
    )
    cost_limit: float = Field(description="largest estimated work a spec may have")
    memory_limit_bytes: int = Field(description="largest estimated peak memory a run may have")
    estimates: dict[str, str] = Field(
        description="how the work and the peak memory are estimated; POST /v1/estimate gives "
        "both for a spec"
    )


class EstimateOut(BaseModel):
    peak_bytes: int = Field(description="the run's estimated peak memory above an idle worker")
    memory_parts: dict[str, int] = Field(
        description="resident through the run, and its phases (step, map_probe, evaluation) of "
        "which the largest adds to it"
    )
    memory_limit_bytes: int
    cost: float
    cost_limit: float
    admitted: bool = Field(description="whether both are within this server's limits")

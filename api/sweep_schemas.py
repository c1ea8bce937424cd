"""Sweep requests and responses (kept apart from the experiments' schemas)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.labels import Labels
from api.schemas import UtcDatetime
from api.sweeps import sweep_size
from jobs.models import Job, Sweep, SweepMember
from jobs.statuses import FINAL_STATUSES, JobStatus

DOTTED_PATH = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$")
SEEDS_MAX = 100


class SweepIn(Labels):
    model_config = ConfigDict(extra="forbid")

    base: dict[str, Any] = Field(
        description="An experiment spec (the POST /v1/experiments body); fields the grid sets "
        "may be left out."
    )
    grid: dict[str, list[Any]] = Field(
        min_length=1,
        description='{dotted spec path: values}, e.g. {"cell": ["tanh", "lstm"], '
        '"clipping.max_norm": [1, 10]}; one experiment per combination and seed.',
        examples=[{"cell": ["tanh", "lstm", "irnn"], "seq_len": [50, 100, 200]}],
    )
    seeds: int = Field(
        1, ge=1, le=SEEDS_MAX, description="Runs per combination, seeded base.seed + 0, 1, ..."
    )

    @field_validator("grid")
    @classmethod
    def _paths_and_values(cls, grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for path, values in grid.items():
            if not DOTTED_PATH.match(path):
                raise ValueError(f"{path!r} is not a dotted spec path such as optimizer.lr")
            if path == "seed":
                raise ValueError("seed is set by `seeds`, not by the grid")
            if not values:
                raise ValueError(f"{path}: give at least one value")
            labels = [repr(value) for value in values]
            if len(set(labels)) != len(labels):
                raise ValueError(f"{path}: a value repeats")
        return grid

    @property
    def size(self) -> int:
        return sweep_size(self.grid, self.seeds)


def last_horizon(summary: dict[str, Any]) -> int | None:
    """The gradient horizon of the first layer at the last probe; None without probes."""
    horizons = summary.get("gradient_horizon") or []
    return horizons[-1][0] if horizons and horizons[-1] else None


class MemberSummary(BaseModel):
    """The numbers a sweep table shows; the full summary is on GET /v1/experiments/{id}."""

    outcome: str
    final_loss: float | None
    eval_loss: float | None
    eval_metric: float | None
    metric_name: str
    baseline_loss: float
    solved: bool
    horizon: int | None = Field(description="gradient horizon of the first layer, last probe")

    @classmethod
    def from_summary(cls, summary: dict[str, Any]) -> MemberSummary:
        return cls(
            **{name: summary.get(name) for name in cls.model_fields if name != "horizon"},
            horizon=last_horizon(summary),
        )


class SweepMemberOut(BaseModel):
    id: str = Field(description="the experiment's id")
    values: dict[str, Any] = Field(description="its grid values")
    seed: int
    status: JobStatus
    fraction: float = Field(description="share of its training steps done")
    summary: MemberSummary | None

    @classmethod
    def from_rows(cls, member: SweepMember, job: Job) -> SweepMemberOut:
        return cls(
            id=job.id,
            values=member.values,
            seed=member.seed,
            status=job.status,
            fraction=job.progress_fraction,
            summary=MemberSummary.from_summary(job.summary) if job.summary else None,
        )


class SweepBrief(BaseModel):
    id: str
    name: str | None
    tags: list[str]
    created_at: UtcDatetime
    base: dict[str, Any]
    grid: dict[str, list[Any]]
    seeds: int
    size: int = Field(description="experiments the grid expanded to")

    @classmethod
    def from_sweep(cls, sweep: Sweep, **extra: Any) -> SweepBrief:
        return cls(
            id=sweep.id,
            name=sweep.name,
            tags=sweep.tags,
            created_at=sweep.created_at,
            base=sweep.base,
            grid=sweep.grid,
            seeds=sweep.seeds,
            size=sweep_size(sweep.grid, sweep.seeds),
            **extra,
        )


class SweepOut(SweepBrief):
    notes: str | None
    status: Literal["active", "finished"] = Field(
        description="finished once no experiment is queued or running"
    )
    counts: dict[str, int] = Field(description="experiments per status")
    experiments: list[SweepMemberOut]
    reproduction: str | None = Field(
        None,
        description="the reproduction run this sweep belongs to; its verdict is at "
        "GET /v1/reproductions/runs/{id}",
    )

    @classmethod
    def from_rows(
        cls, sweep: Sweep, rows: list[tuple[SweepMember, Job]], reproduction: str | None = None
    ) -> SweepOut:
        experiments = [SweepMemberOut.from_rows(member, job) for member, job in rows]
        counts: dict[str, int] = {}
        for experiment in experiments:
            counts[experiment.status] = counts.get(experiment.status, 0) + 1
        finished = all(e.status in FINAL_STATUSES for e in experiments)
        return super().from_sweep(
            sweep,
            notes=sweep.notes,
            status="finished" if finished else "active",
            counts=counts,
            experiments=experiments,
            reproduction=reproduction,
        )


class SweepPage(BaseModel):
    items: list[SweepBrief]
    limit: int
    offset: int

"""Reproduction requests and responses: the gallery as data, and a run's verdict."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.reproductions import Decision, plan_bodies
from api.schemas import UtcDatetime
from api.sweep_schemas import SweepIn
from gradcore.reproductions import SCALES, SEEDS, Reproduction, Scale
from jobs.models import ReproductionRun

SEEDS_MAX = 10  # a claim is checked on seeds 0 .. seeds-1; more is a sweep's work


class ReproductionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scale: Scale = Field(
        "cpu", description="cpu: minutes on two cores; paper: the papers' sizes, for GPU workers"
    )
    seeds: int = Field(
        SEEDS, ge=1, le=SEEDS_MAX, description="seeds 0 .. seeds-1; the claim must hold on each"
    )


class ScaleOut(BaseModel):
    plans: list[SweepIn] = Field(description="one sweep per plan, as POST /v1/sweeps bodies")
    runs: int = Field(description="experiments the plans expand to with the default seeds")


class ReproductionOut(BaseModel):
    name: str
    claim: str
    citation: str
    expected: str = Field(description="what the predicate requires, in words")
    seeds: int = Field(description="the default number of seeds")
    scales: dict[str, ScaleOut]

    @classmethod
    def of(cls, reproduction: Reproduction) -> ReproductionOut:
        scales = {}
        for scale in SCALES:
            plans = plan_bodies(reproduction, scale, SEEDS)
            scales[scale] = ScaleOut(plans=plans, runs=sum(plan.size for plan in plans))
        return cls(
            name=reproduction.name,
            claim=reproduction.claim,
            citation=reproduction.citation,
            expected=reproduction.expected,
            seeds=SEEDS,
            scales=scales,
        )


class ReproductionList(BaseModel):
    items: list[ReproductionOut]


class BlockingOut(BaseModel):
    id: str = Field(description="the experiment's id")
    sweep: str = Field(description="its sweep's id")
    status: str
    error: str | None


class ReproductionRunOut(BaseModel):
    id: str
    created_at: UtcDatetime
    name: str
    claim: str
    citation: str
    expected: str
    scale: Scale
    seeds: int
    sweeps: list[str] = Field(description="the sweeps' ids, one per plan, in plan order")
    status: Literal["pending", "passed", "failed", "undecided"] = Field(
        description="pending while experiments are queued or running; passed or failed once "
        "the predicate has read every result; undecided when an experiment failed, was "
        "cancelled or was deleted (see `undecided_by` and `deleted`)"
    )
    passed: bool | None = Field(description="the verdict; null until decided")
    measured: str | None = Field(description="the numbers the predicate read, in words")
    experiments: int = Field(description="experiments the run was started with")
    counts: dict[str, int] = Field(description="experiments per status")
    undecided_by: list[BlockingOut] = Field(description="the experiments that stop a decision")
    deleted: int = Field(description="experiments deleted since the run started")
    reason: str | None = Field(description="why the run is undecided, in words")

    @classmethod
    def of(
        cls, run: ReproductionRun, reproduction: Reproduction, sweeps: list[str], decision: Decision
    ) -> ReproductionRunOut:
        return cls(
            id=run.id,
            created_at=run.created_at,
            name=run.name,
            claim=reproduction.claim,
            citation=reproduction.citation,
            expected=reproduction.expected,
            scale=run.scale,
            seeds=run.seeds,
            sweeps=sweeps,
            status=decision.status,
            passed=decision.passed,
            measured=decision.measured,
            experiments=decision.total,
            counts=decision.counts,
            undecided_by=[
                BlockingOut(id=job_id, sweep=sweep_id, status=status, error=error)
                for job_id, sweep_id, status, error in decision.blocking
            ],
            deleted=decision.deleted,
            reason=decision.reason,
        )

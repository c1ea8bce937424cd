"""Run a reproduction's plan at a scale over seeds and apply its predicate."""

from __future__ import annotations

from collections.abc import Callable

from gradcore.reproductions.base import Reproduction, Scale, Table, Verdict
from gradcore.result import ExperimentResult
from gradcore.spec import ExperimentSpec

Runner = Callable[[ExperimentSpec], ExperimentResult]


def specs(reproduction: Reproduction, scale: Scale, seeds: int) -> list[list[ExperimentSpec]]:
    """specs[p][s]: the spec of point p (each plan's grid in order) for seed s."""
    return [
        [plan.spec(point, seed) for seed in range(seeds)]
        for plan in reproduction.plans[scale]
        for point in plan.points()
    ]


def check(reproduction: Reproduction, scale: Scale, seeds: int, run: Runner) -> Verdict:
    """Run every spec with `run` (gradcore.run, or a caller's wrapper) and judge the numbers."""
    table: Table = [
        [reproduction.measure(run(spec)) for spec in point]
        for point in specs(reproduction, scale, seeds)
    ]
    return reproduction.judge(table)

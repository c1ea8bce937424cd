"""What a reproduction is: a claim from the literature, the sweeps that test it at two scales,
and a predicate that decides it from the measured numbers.

Pure data and functions, no I/O: `gradcore.reproductions.check` runs one, the command line and
the API present it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from gradcore.result import ExperimentResult
from gradcore.spec import ExperimentSpec

Scale = Literal["cpu", "paper"]
SCALES: tuple[Scale, ...] = ("cpu", "paper")
SEEDS = 3  # the gallery's default: every predicate must hold on each of seeds 0, 1, 2

# The numbers one run contributes, by name (for example {"ratio": 4e-24, "horizon": 13}).
Numbers = dict[str, float]
# table[p][s]: the numbers of point p for seed s; points run through each plan's grid in order.
Table = list[list[Numbers]]


@dataclass(frozen=True)
class Plan:
    """One sweep, in the API's form: a base spec and a grid of dotted-path values whose product
    gives the points; seeds count up from the base's seed (0 unless set)."""

    base: dict[str, Any]
    grid: dict[str, list[Any]]

    def points(self) -> list[dict[str, Any]]:
        """Each point's values {dotted path: value}, first axis slowest."""
        return [dict(zip(self.grid, values, strict=True)) for values in self._product()]

    def _product(self) -> itertools.product[tuple[Any, ...]]:
        return itertools.product(*self.grid.values())

    def spec(self, point: dict[str, Any], seed: int) -> ExperimentSpec:
        document: dict[str, Any] = {**self.base, "seed": self.base.get("seed", 0) + seed}
        for path, value in point.items():
            *parents, leaf = path.split(".")
            node = document
            for name in parents:
                node = node.setdefault(name, {})
            node[leaf] = value
        return ExperimentSpec.model_validate(document)


@dataclass(frozen=True)
class Verdict:
    passed: bool
    measured: str  # the numbers the predicate read, in words


@dataclass(frozen=True)
class Reproduction:
    name: str
    claim: str  # one sentence
    citation: str
    expected: str  # what the predicate requires, in words
    plans: Mapping[Scale, tuple[Plan, ...]]  # the table's points: each plan's, in order
    measure: Callable[[ExperimentResult], Numbers]
    judge: Callable[[Table], Verdict]


def spread(values: list[float], digits: int = 2) -> str:
    """Values over seeds as text: '4.2e-24 .. 9.9e-23' (or one value when all agree)."""
    low, high = min(values), max(values)
    if f"{low:.{digits}g}" == f"{high:.{digits}g}":
        return f"{low:.{digits}g}"
    return f"{low:.{digits}g} .. {high:.{digits}g}"


def column(points: list[Numbers], name: str) -> list[float]:
    """One named number over the seeds of a grid point."""
    return [numbers[name] for numbers in points]

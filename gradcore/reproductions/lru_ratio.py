"""Orvieto et al. 2023: the LRU's eigenvalue ring sets how far its gradient reaches at init.

The recurrence is diagonal, so for a loss at the last step dL/dh_t = conj(lam)^(T-t) * dL/dh_T
unit by unit: |dL/dh_1| / |dL/dh_T| is a weighted mean of |lam_i|^(T-1) and lies between
r_min^(T-1) and r_max^(T-1) for eigenvalues drawn from the ring [r_min, r_max].
"""

from __future__ import annotations

from gradcore.reproductions.base import Plan, Reproduction, Table, Verdict, column, spread
from gradcore.reproductions.measures import at_init

LENGTH = 100
# The rings, from short to long memory: (r_min, r_max).
RINGS: tuple[tuple[float, float], ...] = ((0.0, 0.5), (0.5, 0.9), (0.9, 0.999))
# float32 and the batch's sum of squares: a bound met to within this factor counts as met.
SLACK = 1.01

BASE = {"cell": "lru", "task": "adding", "seq_len": LENGTH, "hidden_size": 128, "steps": 1}


def _plans(base: dict) -> tuple[Plan, ...]:
    return tuple(Plan(base, {"lru.r_min": [low], "lru.r_max": [high]}) for low, high in RINGS)


def judge(table: Table) -> Verdict:
    """table: one point per ring, in RINGS order, at init."""
    passed, parts = True, []
    for (low, high), points in zip(RINGS, table, strict=True):
        ratios = column(points, "ratio")
        floor, ceiling = low ** (LENGTH - 1), high ** (LENGTH - 1)
        passed &= all(floor / SLACK <= ratio <= ceiling * SLACK for ratio in ratios)
        parts.append(
            f"ring [{low}, {high}]: {spread(ratios)} (bounds {floor:.2g} .. {ceiling:.2g})"
        )
    return Verdict(passed, "|dL/dh_1| / |dL/dh_T|: " + "; ".join(parts))


LRU_RATIO = Reproduction(
    name="lru_ratio",
    claim="At init an LRU's |dL/dh_1| / |dL/dh_T| is set by its eigenvalue ring: it lies "
    "between r_min^(T-1) and r_max^(T-1).",
    citation="Orvieto, Smith, Gu, Fernando, Gulcehre, Pascanu, De 2023",
    expected=f"at T = {LENGTH}, on every seed, for the rings "
    + ", ".join(f"[{low}, {high}]" for low, high in RINGS)
    + ", the ratio lies between r_min^(T-1) and r_max^(T-1)",
    plans={"cpu": _plans(BASE), "paper": _plans({**BASE, "hidden_size": 256, "batch_size": 128})},
    measure=at_init,
    judge=judge,
)

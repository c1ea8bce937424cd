"""The spec's blocks for the long-memory cells (exprnn, lru, s4d), each applying to its cell only.

Split from spec_parts.py so each file reads in one sitting; spec.py re-exports every name here.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from gradcore.spec_parts import STRICT

# Cells that draw their papers' init themselves; `init` schemes do not apply to them.
LONG_MEMORY_CELLS: tuple[str, ...] = ("exprnn", "lru", "s4d", "urnn")
# Cells whose state is complex: |dL/dh_t| is over real and imaginary parts together.
COMPLEX_STATE_CELLS: tuple[str, ...] = ("lru", "s4d", "urnn")


class ExpRNNSpec(BaseModel):
    """expRNN (exprnn cell only): W_hh = map(A) with A skew-symmetric, orthogonal for any A."""

    model_config = STRICT

    orthogonal_map: Literal["matrix_exp", "cayley"] = Field(
        "matrix_exp",
        description="matrix_exp: W = exp(A) (Lezcano-Casado and Martinez-Rubio 2019); cayley: "
        "W = (I + A/2)(I - A/2)^-1, which cannot reach eigenvalue -1",
    )


class LRUSpec(BaseModel):
    """LRU (lru cell only, Orvieto et al. 2023): the ring its eigenvalues are drawn from."""

    model_config = STRICT

    r_min: float = Field(0.0, ge=0, lt=1, description="smallest initial |lambda|")
    r_max: float = Field(0.99, gt=0, lt=1, description="largest initial |lambda| (below 1)")
    max_phase: float = Field(
        2 * math.pi,
        gt=0,
        le=2 * math.pi,
        description="initial arg(lambda) is drawn from U(0, max_phase)",
    )

    @model_validator(mode="after")
    def _check_ring(self) -> LRUSpec:
        if self.r_min >= self.r_max:
            raise ValueError("lru.r_min: must be below lru.r_max")
        return self


class S4DSpec(BaseModel):
    """S4D-style diagonal state space (s4d cell only, Gu et al. 2022): its discretisation
    step dt, learned per state in log space, drawn log-uniformly from [dt_min, dt_max]."""

    model_config = STRICT

    dt_min: float = Field(1e-3, gt=0, le=1, description="smallest initial step")
    dt_max: float = Field(1e-1, gt=0, le=1, description="largest initial step")

    @model_validator(mode="after")
    def _check_steps(self) -> S4DSpec:
        if self.dt_min > self.dt_max:
            raise ValueError("s4d.dt_min: must be at most s4d.dt_max")
        return self

"""The experiment spec: what a client asks gradcore to run.

Pure data: enums and bounded numbers, no code, no paths. The same model is the API's
request body, so its field names are the public contract. Every bound lives in `LIMITS`
so the API's `/v1/meta` can publish them.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gradcore.spec_cells import (
    COMPLEX_STATE_CELLS,
    LONG_MEMORY_CELLS,
    ExpRNNSpec,
    LRUSpec,
    S4DSpec,
)
from gradcore.spec_parts import (
    INDRNN_RECURRENT_INITS,
    LIMITS,
    STRICT,
    ClipNone,
    ClipNorm,
    Clipping,
    ClipValue,
    ESNSpec,
    InitScheme,
    InitSpec,
    OptimizerSpec,
    ProbeSpec,
    TrainingSpec,
)

__all__ = [
    "COMPLEX_STATE_CELLS",
    "COPY_RECALL_LENGTH",
    "CROSS_FIELD_RULES",
    "DATASET_NAME_PATTERN",
    "FEEDFORWARD_CELLS",
    "INDRNN_RECURRENT_INITS",
    "LIMITS",
    "LONG_MEMORY_CELLS",
    "MIN_SEQ_LEN",
    "PIXEL_TASK_LENGTH",
    "RECURRENT_CELLS",
    "STRICT",
    "Cell",
    "ClipNone",
    "ClipNorm",
    "ClipValue",
    "Clipping",
    "Dataset",
    "ESNSpec",
    "ExpRNNSpec",
    "ExperimentSpec",
    "InitScheme",
    "InitSpec",
    "LRUSpec",
    "OptimizerSpec",
    "ProbeSpec",
    "S4DSpec",
    "Task",
    "TrainingSpec",
    "copy_sequence_length",
    "indrnn_cap",
    "selective_copy_sequence_length",
]

Cell = Literal[
    "tanh",
    "relu",
    "irnn",
    "lstm",
    "gru",
    "indrnn",
    "esn",
    "exprnn",
    "lru",
    "s4d",
    "urnn",
    "mlp",
    "cnn",
]
# Cells that read the whole image at once: one probed "time step", depth across layers.
FEEDFORWARD_CELLS: tuple[str, ...] = ("mlp", "cnn")
RECURRENT_CELLS: tuple[str, ...] = tuple(c for c in get_args(Cell) if c not in FEEDFORWARD_CELLS)

Task = Literal[
    "adding",
    "copy",
    "selective_copy",
    "temporal_order",
    "temporal_order_3bit",
    "pixel_digits",
    "permuted_pixel_digits",
    "pixel_mnist",
    "permuted_pixel_mnist",
]
# The copy task shows COPY_RECALL_LENGTH symbols first and asks for them back in as many steps
# after the delimiter, so its sequences are longer than its delay T (= seq_len). Selective
# copying hides as many among T steps of noise and asks for them in as many steps after.
COPY_RECALL_LENGTH = 10

# Pixel tasks read one pixel per step, so their length is fixed by the image size.
PIXEL_TASK_LENGTH: dict[str, int] = {
    "pixel_digits": 64,
    "permuted_pixel_digits": 64,
    "pixel_mnist": 784,
    "permuted_pixel_mnist": 784,
}
# The shortest sequence for which each synthetic task is well defined (temporal order needs a
# non-empty window at [0.1T, 0.2T); adding needs a marker in each half).
MIN_SEQ_LEN: dict[str, int] = {
    "adding": 2,
    "copy": 1,
    "selective_copy": COPY_RECALL_LENGTH,
    "temporal_order": 10,
    "temporal_order_3bit": 10,
}


def copy_sequence_length(delay: int) -> int:
    """Steps of a copy sequence: the symbols, delay - 1 blanks, the delimiter, the recall."""
    return delay + 2 * COPY_RECALL_LENGTH


def selective_copy_sequence_length(noise_length: int) -> int:
    """Steps of a selective-copying sequence: T of noise holding the symbols, the recall."""
    return noise_length + COPY_RECALL_LENGTH


# A data set's name, which is also its directory under the server's data dir.
DATASET_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
Dataset = Annotated[str, Field(pattern=DATASET_NAME_PATTERN)]


def _fixed_lengths() -> str:
    by_length: dict[int, list[str]] = {}
    for task, length in PIXEL_TASK_LENGTH.items():
        by_length.setdefault(length, []).append(task)
    return "; ".join(f"{length} for {', '.join(tasks)}" for length, tasks in by_length.items())


# The rules across fields that `_check_combination` enforces, stated in the JSON schema's
# description since the schema's per-field bounds cannot say them.
CROSS_FIELD_RULES: tuple[str, ...] = (
    f"recurrent cells take at most {int(LIMITS['num_layers_max'])} layers",
    f"pixel tasks fix seq_len: {_fixed_lengths()}",
    "seq_len is at least "
    + ", ".join(f"{length} for {task}" for task, length in MIN_SEQ_LEN.items() if length > 1),
    f"the {' and '.join(FEEDFORWARD_CELLS)} cells run on pixel tasks only, with no probes and "
    "no identity init for cnn",
    f"indrnn's init.recurrent is one of {', '.join(INDRNN_RECURRENT_INITS)}",
    "init.forget_bias applies to lstm only",
    "the esn block applies to the esn cell only, whose init stays at its defaults",
    "probes.lyapunov_exponents is at most the state size (hidden_size; twice it for lstm)",
    "probes.eigenvalues is not for lstm and gru",
    "training.mode uoro is for recurrent cells other than esn",
    "optimizer hessian_free needs training.mode bptt and a cell other than esn",
    "the exprnn, lru and s4d blocks apply to their own cell only",
    f"{', '.join(LONG_MEMORY_CELLS)} draw their papers' init (init stays at its defaults) and "
    "take no map probes (jacobian_norms, lyapunov_exponents), uoro or hessian_free",
    "urnn's hidden_size is even: hidden_size / 2 complex units",
)


class ExperimentSpec(BaseModel):
    """One gradient-flow experiment. Only `cell`, `task` and `seq_len` are required."""

    model_config = STRICT | ConfigDict(
        json_schema_extra={
            "description": "One gradient-flow experiment. Only `cell`, `task` and `seq_len` "
            "are required. Rules across fields (a 422 names the field at fault): "
            + "; ".join(CROSS_FIELD_RULES)
            + ". A server also refuses a spec whose estimated work or memory exceeds its "
            "limits (GET /v1/meta; POST /v1/estimate says beforehand)."
        }
    )

    cell: Cell
    task: Task
    seq_len: int = Field(
        ge=1,
        le=int(LIMITS["seq_len_max"]),
        description="Time steps T (copy: the delay; its sequences are "
        f"T + {2 * COPY_RECALL_LENGTH} long; selective_copy: the noise holding the symbols, "
        f"T + {COPY_RECALL_LENGTH} long). Pixel tasks fix it: "
        f"{PIXEL_TASK_LENGTH['pixel_digits']} for digits, {PIXEL_TASK_LENGTH['pixel_mnist']} for "
        "MNIST.",
    )
    hidden_size: int = Field(128, ge=1, le=int(LIMITS["hidden_size_max"]))
    num_layers: int = Field(
        1,
        ge=1,
        le=int(LIMITS["mlp_depth_max"]),
        description="Stacked layers (mlp, cnn: depth)",
    )
    activation: Literal["sigmoid", "tanh", "relu"] = Field(
        "sigmoid", description="mlp and cnn only: the hidden layers' nonlinearity"
    )
    esn: ESNSpec = ESNSpec()
    exprnn: ExpRNNSpec = ExpRNNSpec()
    lru: LRUSpec = LRUSpec()
    s4d: S4DSpec = S4DSpec()
    probes: ProbeSpec = ProbeSpec()
    init: InitSpec = InitSpec()
    clipping: Clipping = ClipNone()
    optimizer: OptimizerSpec = OptimizerSpec()
    training: TrainingSpec = TrainingSpec()
    steps: int = Field(1000, ge=1, le=int(LIMITS["steps_max"]))
    batch_size: int = Field(64, ge=1, le=int(LIMITS["batch_size_max"]))
    probe_every: int = Field(
        50,
        ge=1,
        le=int(LIMITS["steps_max"]),
        description="Training steps between dL/dh_t probes; step 0 and the last step are always "
        "probed.",
    )
    horizon_fraction: float = Field(
        1e-3,
        gt=0,
        lt=1,
        description="The gradient horizon is T minus the earliest t whose |dL/dh_t| is at "
        "least this fraction of the probe's largest.",
    )
    dataset: Dataset = Field(
        "mnist", description="pixel_mnist tasks: a dataset name the server has"
    )
    device: Literal["auto", "cpu", "cuda"] = "auto"
    seed: int = Field(0, ge=0, le=int(LIMITS["seed_max"]))

    @model_validator(mode="after")
    def _check_combination(self) -> ExperimentSpec:
        feedforward = self.cell in FEEDFORWARD_CELLS
        if not feedforward and self.num_layers > LIMITS["num_layers_max"]:
            raise ValueError(
                f"num_layers: at most {int(LIMITS['num_layers_max'])} for recurrent cells"
            )
        fixed = PIXEL_TASK_LENGTH.get(self.task)
        if fixed is not None and self.seq_len != fixed:
            raise ValueError(
                f"seq_len: task {self.task} reads {fixed} pixels, so seq_len = {fixed}"
            )
        if self.seq_len < MIN_SEQ_LEN.get(self.task, 1):
            raise ValueError(f"seq_len: task {self.task} needs at least {MIN_SEQ_LEN[self.task]}")
        if feedforward and fixed is None:
            raise ValueError(f"task: the {self.cell} cell runs on a pixel task (whole images)")
        if self.cell == "indrnn" and self.init.recurrent not in INDRNN_RECURRENT_INITS:
            raise ValueError(
                f"init.recurrent: indrnn's recurrent weight is a vector; use one of "
                f"{', '.join(INDRNN_RECURRENT_INITS)}"
            )
        if self.init.forget_bias is not None and self.cell != "lstm":
            raise ValueError("init.forget_bias: applies to the lstm cell only")
        self._check_extensions(feedforward)
        self._check_long_memory()
        return self

    def _check_long_memory(self) -> None:
        for block, default in (("exprnn", ExpRNNSpec()), ("lru", LRUSpec()), ("s4d", S4DSpec())):
            if self.cell != block and getattr(self, block) != default:
                raise ValueError(f"{block}: applies to the {block} cell only")
        if self.cell not in LONG_MEMORY_CELLS:
            return
        if self.cell == "urnn" and self.hidden_size % 2:
            raise ValueError("hidden_size: urnn holds hidden_size / 2 complex units; make it even")
        # Their inits are structural (a skew generator, an eigenvalue ring), not matrix schemes;
        # the map probes, UORO and Hessian-free step only the classic cells' formulas.
        if self.init != InitSpec():
            raise ValueError(f"init: the {self.cell} cell draws its paper's init")
        if self.probes.maps:
            raise ValueError(f"probes: the map probes do not cover the {self.cell} cell")
        if self.training.mode == "uoro":
            raise ValueError(f"training.mode: uoro does not cover the {self.cell} cell")
        if self.optimizer.name == "hessian_free":
            raise ValueError(f"optimizer.name: hessian_free does not cover the {self.cell} cell")

    def _check_extensions(self, feedforward: bool) -> None:
        if self.cell != "esn" and self.esn != ESNSpec():
            raise ValueError("esn: applies to the esn cell only")
        if self.cell == "esn" and self.init != InitSpec():
            raise ValueError("init: the esn reservoir is drawn as the esn block says")
        if self.cell == "cnn" and "identity" in (self.init.recurrent, self.init.input):
            raise ValueError("init: identity does not apply to convolution kernels")
        if feedforward and self.probes.enabled:
            raise ValueError("probes: the recurrent-map measurements need a recurrent cell")
        if self.probes.eigenvalues and self.cell in ("lstm", "gru"):
            raise ValueError(
                "probes.eigenvalues: lstm and gru have no single recurrent matrix (their gates')"
                " blocks are in summary.spectral_radius_start)"
            )
        state_size = self.hidden_size * (2 if self.cell == "lstm" else 1)
        if self.probes.lyapunov_exponents > state_size:
            raise ValueError(f"probes.lyapunov_exponents: at most the state size {state_size}")
        if self.training.mode == "tbptt_k1k2" and feedforward:
            raise ValueError("training.mode: tbptt_k1k2 truncates a recurrence; not for mlp/cnn")
        if self.training.mode == "uoro" and (feedforward or self.cell == "esn"):
            raise ValueError("training.mode: uoro trains recurrent weights; not for mlp/cnn/esn")
        if self.optimizer.name == "hessian_free" and self.training.mode != "bptt":
            raise ValueError("training.mode: optimizer hessian_free uses full BPTT (bptt)")
        if self.optimizer.name == "hessian_free" and self.cell == "esn":
            raise ValueError(
                "optimizer.name: hessian_free is not for the esn, which trains only its readout"
            )

    @property
    def sequence_length(self) -> int:
        """Length of the sequences fed to the network (longer than seq_len for the copy tasks)."""
        if self.task == "copy":
            return copy_sequence_length(self.seq_len)
        if self.task == "selective_copy":
            return selective_copy_sequence_length(self.seq_len)
        return self.seq_len

    @property
    def probe_steps(self) -> list[int]:
        steps = set(range(0, self.steps, self.probe_every))
        steps.add(self.steps - 1)
        return sorted(steps)


def indrnn_cap(seq_len: int) -> float:
    """IndRNN's bound on |u|: 2^(1/T), so no unit's gradient grows more than 2x over T steps."""
    return math.pow(2.0, 1.0 / seq_len)

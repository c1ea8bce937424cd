"""The experiment spec: what a client asks gradcore to run.

Pure data: enums and bounded numbers, no code, no paths. The same model is the API's
request body, so its field names are the public contract. Every bound lives in `LIMITS`
so the API's `/v1/meta` can publish them.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Cell = Literal["tanh", "relu", "irnn", "lstm", "gru", "indrnn", "esn", "mlp", "cnn"]
RECURRENT_CELLS: tuple[str, ...] = ("tanh", "relu", "irnn", "lstm", "gru", "indrnn", "esn")
# Cells that read the whole image at once: one probed "time step", depth across layers.
FEEDFORWARD_CELLS: tuple[str, ...] = ("mlp", "cnn")

Task = Literal[
    "adding",
    "copy",
    "temporal_order",
    "temporal_order_3bit",
    "pixel_digits",
    "permuted_pixel_digits",
    "pixel_mnist",
    "permuted_pixel_mnist",
]
# Pixel tasks read one pixel per step, so their length is fixed by the image size.
PIXEL_TASK_LENGTH: dict[str, int] = {
    "pixel_digits": 64,
    "permuted_pixel_digits": 64,
    "pixel_mnist": 784,
    "permuted_pixel_mnist": 784,
}
# The shortest sequence for which each synthetic task is well defined (temporal order needs a
# non-empty window at [0.1T, 0.2T); copy needs at least one blank between symbols and delimiter).
MIN_SEQ_LEN: dict[str, int] = {
    "adding": 2,
    "copy": 1,
    "temporal_order": 10,
    "temporal_order_3bit": 10,
}

InitScheme = Literal[
    "default",
    "xavier_uniform",
    "xavier_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "orthogonal",
    "identity",
    "normal",
]
# IndRNN's recurrent weight is a vector u, so only element-wise schemes make sense for it.
INDRNN_RECURRENT_INITS: tuple[str, ...] = ("default", "identity", "normal")

# One table of bounds, published by the API. Cost bounds the product that drives run time.
LIMITS: dict[str, float] = {
    "hidden_size_max": 1024,
    "num_layers_max": 8,
    "mlp_depth_max": 64,
    "seq_len_max": 10_000,
    "steps_max": 100_000,
    "batch_size_max": 1024,
    "lr_max": 10.0,
    "max_norm_max": 1e6,
    "scale_max": 100.0,
    "seed_max": 2**31 - 1,
    "esn_spectral_radius_max": 10.0,
    "cg_iters_max": 500,
    "damping_max": 1e6,
    "structural_damping_max": 100.0,
    "power_iters_max": 100,
    "lyapunov_exponents_max": 64,
}

Dataset = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]

_STRICT = ConfigDict(extra="forbid", frozen=True)


class InitSpec(BaseModel):
    """Weight initialisation. `default` is the cell's own: PyTorch's for tanh/relu/lstm/gru/mlp,
    identity recurrent + N(0, 0.001) input + zero biases for irnn, the paper's for indrnn."""

    model_config = _STRICT

    recurrent: InitScheme = "default"
    input: InitScheme = "default"
    recurrent_scale: float | None = Field(
        None,
        gt=0,
        le=LIMITS["scale_max"],
        description="Gain for xavier/kaiming/orthogonal, multiplier for identity, std for normal. "
        "Unset: 1, or 1/sqrt(fan_in) as the std of normal.",
    )
    input_scale: float | None = Field(None, gt=0, le=LIMITS["scale_max"])
    forget_bias: float | None = Field(
        None,
        ge=-10,
        le=10,
        description="LSTM only: the forget-gate bias (b_ih's forget block; b_hh's is set to 0).",
    )


class ESNSpec(BaseModel):
    """Echo state network reservoir (esn cell only): fixed, never trained."""

    model_config = _STRICT

    spectral_radius: float = Field(
        0.9,
        gt=0,
        le=LIMITS["esn_spectral_radius_max"],
        description="max |eigenvalue| the reservoir matrix is scaled to",
    )
    leak_rate: float = Field(
        1.0, gt=0, le=1, description="a in h_t = (1 - a) h_{t-1} + a tanh(...); 1: no leak"
    )
    connectivity: float = Field(
        0.1, gt=0, le=1, description="fraction of non-zero reservoir entries (sparsity)"
    )
    input_scale: float = Field(
        1.0,
        gt=0,
        le=LIMITS["scale_max"],
        description="input weights and biases are drawn from U(-input_scale, input_scale)",
    )


class ProbeSpec(BaseModel):
    """Optional measurements of the recurrent map at probe steps (recurrent cells only)."""

    model_config = _STRICT

    jacobian_norms: bool = Field(
        False, description="spectral norm of dh_T/dh_t for every t, by power iteration"
    )
    lyapunov_exponents: int = Field(
        0,
        ge=0,
        le=int(LIMITS["lyapunov_exponents_max"]),
        description="how many of the largest Lyapunov exponents to estimate (QR method); 0: off",
    )
    power_iters: int = Field(
        20,
        ge=1,
        le=int(LIMITS["power_iters_max"]),
        description="power iterations per Jacobian spectral norm",
    )

    @property
    def enabled(self) -> bool:
        return self.jacobian_norms or self.lyapunov_exponents > 0


class ClipNone(BaseModel):
    model_config = _STRICT
    mode: Literal["none"] = "none"


class ClipNorm(BaseModel):
    """Pascanu et al. 2013: one L2 norm over all parameters' gradients; g <- c g / ||g||."""

    model_config = _STRICT
    mode: Literal["norm"]
    max_norm: float = Field(1.0, gt=0, le=LIMITS["max_norm_max"])


class ClipValue(BaseModel):
    """Element-wise clipping of every gradient entry to [-clip_value, clip_value]."""

    model_config = _STRICT
    mode: Literal["value"]
    clip_value: float = Field(0.5, gt=0, le=LIMITS["max_norm_max"])


Clipping = Annotated[ClipNone | ClipNorm | ClipValue, Field(discriminator="mode")]


class OptimizerSpec(BaseModel):
    """The update rule. weight_decay (L2) and l1 act at the update, after clipping, so the
    recorded gradient norms are those of the task loss alone."""

    model_config = _STRICT

    name: Literal["sgd", "adam", "rmsprop", "hessian_free"] = "adam"
    lr: float = Field(0.001, gt=0, le=LIMITS["lr_max"])
    momentum: float = Field(0.0, ge=0, lt=1, description="sgd and rmsprop")
    weight_decay: float = Field(0.0, ge=0, le=1, description="L2 penalty coefficient")
    l1: float = Field(0.0, ge=0, le=1, description="L1 penalty coefficient (lr * l1 * sign(W))")
    cg_max_iters: int = Field(
        50,
        ge=1,
        le=int(LIMITS["cg_iters_max"]),
        description="hessian_free: conjugate-gradient iterations per step, at most",
    )
    damping: float = Field(
        1.0,
        gt=0,
        le=LIMITS["damping_max"],
        description="hessian_free: initial Levenberg-Marquardt damping lambda (then adapted)",
    )
    structural_damping: float = Field(
        1 / 30,
        ge=0,
        le=LIMITS["structural_damping_max"],
        description="hessian_free: mu, the weight of the hidden-state damping term (mu * lambda)",
    )

    @model_validator(mode="after")
    def _check_hessian_free(self) -> OptimizerSpec:
        # By value, not by fields set: a stored spec is dumped whole and validated again.
        hf_fields = [
            name
            for name in ("cg_max_iters", "damping", "structural_damping")
            if getattr(self, name) != type(self).model_fields[name].default
        ]
        if self.name != "hessian_free" and hf_fields:
            raise ValueError(f"{', '.join(hf_fields)}: apply to hessian_free only")
        if self.name == "hessian_free" and (self.momentum > 0 or self.weight_decay > 0):
            raise ValueError("hessian_free uses neither momentum nor weight_decay; leave them 0")
        return self


class TrainingSpec(BaseModel):
    """Full BPTT, or truncated BPTT with chunks of `tbptt_k` steps: the hidden state is carried
    across chunks and the gradient cut between them, or UORO (Tallec & Ollivier 2017): a
    forward-mode, rank-one, unbiased estimate of the BPTT gradient that stores no past states."""

    model_config = _STRICT

    mode: Literal["bptt", "tbptt", "uoro"] = "bptt"
    tbptt_k: int = Field(20, ge=1, le=int(LIMITS["seq_len_max"]))
    checkpoint: bool = Field(
        False,
        description="bptt and tbptt: gradient checkpointing. Each chunk is run as about "
        "sqrt(length) segments whose activations are recomputed in the backward pass: memory "
        "O(sqrt(T)) segments' worth instead of O(T), for one more forward pass. The same "
        "gradients and probes. The mlp has no time steps and ignores it.",
    )

    @model_validator(mode="after")
    def _check_checkpoint(self) -> TrainingSpec:
        if self.checkpoint and self.mode == "uoro":
            raise ValueError("training.checkpoint: uoro stores no past states to checkpoint")
        return self


class ExperimentSpec(BaseModel):
    """One gradient-flow experiment. Only `cell`, `task` and `seq_len` are required."""

    model_config = _STRICT

    cell: Cell
    task: Task
    seq_len: int = Field(
        ge=1,
        le=int(LIMITS["seq_len_max"]),
        description="Time steps T (copy: the delay; its sequences are T + 20 long). Pixel tasks "
        "fix it: 64 for digits, 784 for MNIST.",
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
        description="The gradient horizon counts steps back from T whose |dL/dh_t| stays at or "
        "above this fraction of the probe's largest.",
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
        return self

    def _check_extensions(self, feedforward: bool) -> None:
        if self.cell != "esn" and self.esn != ESNSpec():
            raise ValueError("esn: applies to the esn cell only")
        if self.cell == "esn" and self.init != InitSpec():
            raise ValueError("init: the esn reservoir is drawn as the esn block says")
        if self.cell == "cnn" and "identity" in (self.init.recurrent, self.init.input):
            raise ValueError("init: identity does not apply to convolution kernels")
        if feedforward and self.probes.enabled:
            raise ValueError("probes: the recurrent-map measurements need a recurrent cell")
        state_size = self.hidden_size * (2 if self.cell == "lstm" else 1)
        if self.probes.lyapunov_exponents > state_size:
            raise ValueError(f"probes.lyapunov_exponents: at most the state size {state_size}")
        if self.training.mode == "uoro" and (feedforward or self.cell == "esn"):
            raise ValueError("training.mode uoro: trains recurrent weights; not for mlp/cnn/esn")
        if self.optimizer.name == "hessian_free" and self.training.mode != "bptt":
            raise ValueError("optimizer hessian_free: uses full BPTT (training.mode bptt)")
        if self.optimizer.name == "hessian_free" and self.cell == "esn":
            raise ValueError("optimizer hessian_free: the esn trains only its linear readout")

    @property
    def sequence_length(self) -> int:
        """Length of the sequences fed to the network (copy adds 20)."""
        return self.seq_len + 20 if self.task == "copy" else self.seq_len

    @property
    def probe_steps(self) -> list[int]:
        steps = set(range(0, self.steps, self.probe_every))
        steps.add(self.steps - 1)
        return sorted(steps)

    @property
    def cost(self) -> float:
        """Rough work estimate (multiply-adds of the recurrent matmuls): sets the cost limit."""
        return (
            float(self.steps)
            * self.batch_size
            * self.sequence_length
            * self.num_layers
            * (self.hidden_size**2)
        )


def indrnn_cap(seq_len: int) -> float:
    """IndRNN's bound on |u|: 2^(1/T), so no unit's gradient grows more than 2x over T steps."""
    return math.pow(2.0, 1.0 / seq_len)

"""The spec's sub-models (init, clipping, optimizer, training, probes, ESN) and its bounds.

Split from spec.py so each file reads in one sitting; spec.py re-exports every name here.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

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


# Specs are immutable data that reject unknown fields and convert no types: clients generate
# specs from the schema, so "50" or 50.0 for an integer is their bug, said at once. An integer
# is a number, so it stands wherever a float is expected.
STRICT = ConfigDict(extra="forbid", frozen=True, strict=True)


class InitSpec(BaseModel):
    """Weight initialisation. `default` is the cell's own: PyTorch's for tanh/relu/lstm/gru/mlp,
    identity recurrent + N(0, 0.001) input and readout weights + zero biases for irnn, the
    paper's for indrnn."""

    model_config = STRICT

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

    model_config = STRICT

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

    model_config = STRICT

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
    eigenvalues: bool = Field(
        False,
        description="the eigenvalues of each layer's recurrence (W_hh, or a diagonal cell's "
        "lambda) at every probe step; not for lstm and gru, which have no single recurrent "
        "matrix",
    )

    @property
    def maps(self) -> bool:
        """Whether a probe runs the layers' maps along the batch (Jacobian norms, Lyapunov)."""
        return self.jacobian_norms or self.lyapunov_exponents > 0

    @property
    def enabled(self) -> bool:
        return self.maps or self.eigenvalues


class ClipNone(BaseModel):
    model_config = STRICT
    mode: Literal["none"] = "none"


class ClipNorm(BaseModel):
    """Pascanu et al. 2013: one L2 norm over all parameters' gradients; g <- c g / ||g||."""

    model_config = STRICT
    mode: Literal["norm"]
    max_norm: float = Field(1.0, gt=0, le=LIMITS["max_norm_max"])


class ClipValue(BaseModel):
    """Element-wise clipping of every gradient entry to [-clip_value, clip_value]."""

    model_config = STRICT
    mode: Literal["value"]
    clip_value: float = Field(0.5, gt=0, le=LIMITS["max_norm_max"])


Clipping = Annotated[ClipNone | ClipNorm | ClipValue, Field(discriminator="mode")]


class OptimizerSpec(BaseModel):
    """The update rule. weight_decay (L2) and l1 act at the update, after clipping, so the
    recorded gradient norms are those of the task loss alone."""

    model_config = STRICT

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
    """How the gradient is computed (gradcore.truncation draws both truncated forms):

    - bptt: full backpropagation through time.
    - tbptt: chunks of `tbptt_k` steps that end at the last step (the short one first); the
      hidden state is carried across chunks and the gradient cut between them.
    - tbptt_k1k2: TBPTT(k1, k2) (Williams and Peng 1990; Sutskever 2013, section 2.8): every loss
      term's gradient flows back exactly `tbptt_k2` steps; one backward pass takes the
      `tbptt_k1` loss terms since the last (the online algorithm's update interval). The
      passes add up into the batch's one update, so k1 trades memory for passes and leaves the
      gradient as it is.
    - uoro (Tallec & Ollivier 2017): a forward-mode, rank-one, unbiased estimate of the BPTT
      gradient that stores no past states."""

    model_config = STRICT

    mode: Literal["bptt", "tbptt", "tbptt_k1k2", "uoro"] = "bptt"
    tbptt_k: int = Field(
        20, ge=1, le=int(LIMITS["seq_len_max"]), description="tbptt: the chunk length k"
    )
    tbptt_k1: int = Field(
        20,
        ge=1,
        le=int(LIMITS["seq_len_max"]),
        description="tbptt_k1k2: loss terms per backward pass (every-step tasks); it does not "
        "change the gradient",
    )
    tbptt_k2: int = Field(
        20,
        ge=1,
        le=int(LIMITS["seq_len_max"]),
        description="tbptt_k1k2: time steps each loss term's gradient flows back (k2 >= T is "
        "full BPTT)",
    )
    checkpoint: bool = Field(
        False,
        description="bptt and tbptt: gradient checkpointing. Each chunk is run as about "
        "sqrt(length) segments whose activations are recomputed in the backward pass: memory "
        "O(sqrt(T)) segments' worth instead of O(T), for one more forward pass. The same "
        "gradients and probes. The mlp has no time steps and ignores it.",
    )

    @model_validator(mode="after")
    def _check_mode_fields(self) -> TrainingSpec:
        # By value, not by fields set: a stored spec is dumped whole and validated again.
        if self.mode != "tbptt_k1k2":
            for name in ("tbptt_k1", "tbptt_k2"):
                if getattr(self, name) != type(self).model_fields[name].default:
                    raise ValueError(f"training.{name}: applies to mode tbptt_k1k2 only")
        if self.checkpoint and self.mode == "uoro":
            raise ValueError("training.checkpoint: uoro stores no past states to checkpoint")
        if self.checkpoint and self.mode == "tbptt_k1k2":
            raise ValueError(
                "training.checkpoint: tbptt_k1k2 holds windows of tbptt_k2 steps; lower "
                "tbptt_k1 to hold fewer"
            )
        return self

"""All configuration of the service, read from the environment (one class for API and worker).

The API, the worker and `python -m cli serve` read the same variables, so a supervisor passes
its environment on to its children unchanged. Variables are GRADFLOW_<FIELD>, except the four
conventional names DATABASE_URL, REDIS_URL, HOST and PORT.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"
# A run may use this share of the machine's memory by default: the rest is left to the worker,
# the API, the database and the system. Where the size is unknown, 8 GiB.
WORKER_MEMORY_FRACTION = 0.75
UNKNOWN_MEMORY_BYTES = 8 * 2**30


def default_worker_memory_bytes() -> int:
    """WORKER_MEMORY_FRACTION of this machine's physical memory."""
    try:
        physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return UNKNOWN_MEMORY_BYTES
    return int(physical * WORKER_MEMORY_FRACTION) if physical > 0 else UNKNOWN_MEMORY_BYTES


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRADFLOW_", populate_by_name=True)

    data_dir: Path = Field(
        Path("data"),
        description="Holds the SQLite database, the embedded Redis and datasets/<name>/.",
    )
    database_url: str | None = Field(
        None,
        validation_alias="DATABASE_URL",
        description="SQLAlchemy URL; postgresql://user:pass@host/db selects PostgreSQL. "
        "Unset: SQLite at <data dir>/gradflow.db.",
    )
    redis_url: str | None = Field(
        None,
        validation_alias="REDIS_URL",
        description="Celery broker. Unset: `cli serve` starts an embedded Redis; the API or a "
        f"worker started alone use {LOCAL_REDIS_URL}.",
    )
    host: str = Field(
        "127.0.0.1",
        validation_alias="HOST",
        description="API bind address. The API trusts it to be the address uvicorn binds "
        "(uvicorn does not say): beyond loopback it refuses to start without an API key.",
    )
    trust_network: bool = Field(
        False,
        description="Serve without API keys on a HOST beyond loopback: anyone who can reach "
        "it may run jobs and read every result. For a network you trust; logged as a warning "
        "at every start.",
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Host names the API answers to besides 127.0.0.1, localhost and [::1], "
        "comma-separated ('*.example.org' matches subdomains, '*' any name). Other Host "
        "headers get 400, so a web page cannot reach the API through DNS rebinding.",
    )
    port: int = Field(8000, ge=1, le=65535, validation_alias="PORT", description="API port")
    queue: str = Field(
        "gradflow",
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="Celery queue the API sends jobs to and the workers consume.",
    )
    progress_interval_s: float = Field(
        0.5, gt=0, description="Least time between two progress writes of a running job."
    )
    cancel_check_interval_s: float = Field(
        0.25,
        gt=0,
        description="Least time between two reads of a running job's cancel flag by the "
        "worker that supervises its run.",
    )
    stop_grace_s: float = Field(
        0.5,
        ge=0,
        description="How long a run asked to stop (cancel, time limit, shutdown) may take to "
        "reach the end of its step before its process is killed.",
    )
    traces_interval_s: float = Field(
        2.0, gt=0, description="Most training time between two stores of a run's new traces."
    )
    run_address_space_bytes: int = Field(
        0,
        ge=0,
        description="Cap on the virtual address space of each run process (RLIMIT_AS), so a "
        "run that asks for too much memory fails with an out-of-memory reason instead of "
        "drawing the kernel's OOM killer; 0: no cap.",
    )
    checkpoint_interval_s: float = Field(
        60.0,
        gt=0,
        description="Least training time between two checkpoints of a running job; a resumed "
        "run loses at most this much.",
    )
    worker_seen_s: float = Field(
        60.0, gt=0, description="A worker silent for longer is not listed by /v1/health."
    )
    # Reliability: how long a job may run, how often it may be retried, when it counts as lost.
    job_time_limit_s: float = Field(
        6 * 3600.0, gt=0, description="Wall-clock limit of one run; past it the job ends failed."
    )
    max_attempts: int = Field(
        3,
        ge=1,
        le=100,
        description="Runs of one job that may be lost (their worker killed or gone) before it "
        "fails; a worker that shuts down gracefully hands its job back without using one.",
    )
    heartbeat_timeout_s: float = Field(
        60.0,
        gt=0,
        description="A running job whose worker has not touched it for longer is re-queued.",
    )
    reconcile_interval_s: float = Field(
        15.0, gt=0, description="Time between two passes of each worker's job reconciler."
    )
    # Security: limits on what one request or one API key may ask for. Defaults admit every
    # spec gradcore accepts, except for the cost and the memory (gradcore.estimate's estimates).
    limit_seq_len: int = Field(10_000, ge=1, description="Largest seq_len accepted.")
    limit_hidden_size: int = Field(1024, ge=1, description="Largest hidden_size accepted.")
    limit_num_layers: int = Field(64, ge=1, description="Largest num_layers accepted.")
    limit_steps: int = Field(100_000, ge=1, description="Largest steps accepted.")
    limit_batch_size: int = Field(1024, ge=1, description="Largest batch_size accepted.")
    limit_cost: float = Field(
        1e14, gt=0, description="Largest estimated work accepted (gradcore.estimate_work)."
    )
    worker_memory_bytes: int = Field(
        default_factory=default_worker_memory_bytes,
        ge=2**20,
        description="Memory one run may use, in bytes: a spec whose estimated peak "
        "(gradcore.estimate_peak_bytes) is larger is refused. Default: 3/4 of this machine's "
        "physical memory; set it to what each worker may use where workers share a machine or "
        "run elsewhere.",
    )
    max_body_bytes: int = Field(65_536, ge=1024, description="Largest request body accepted.")
    max_active_jobs_per_key: int = Field(
        256, ge=1, description="Queued plus running jobs one API key may have at once."
    )
    submit_rate_per_minute: int = Field(
        60, ge=1, description="Submissions one API key may make per minute (a sweep is one)."
    )
    sweep_max_experiments: int = Field(
        256, ge=1, le=10_000, description="Most experiments one sweep may expand to."
    )
    events_poll_interval_s: float = Field(
        0.5,
        gt=0,
        description="How often an API process re-reads the state of every job and sweep its "
        "event streams follow (one read for all of its streams).",
    )
    max_streams_per_key: int = Field(
        32,
        ge=1,
        description="Event streams one API key (all callers together while no key exists) may "
        "hold open at once on one API process; past it a new stream is refused with 429.",
    )
    events_trace_max_values: int = Field(
        100_000,
        ge=1000,
        le=10_000_000,
        description="About the most numbers one `traces` event carries; a client far behind "
        "gets the backlog in several events.",
    )
    metrics_token: SecretStr | None = Field(
        None,
        description="Operator credential for GET /metrics (sent as 'Authorization: Bearer "
        "<token>'), which shows every owner's job counts. Unset: /metrics is open while no API "
        "key exists and refused once keys are in use.",
    )
    # torch runs one intra-op thread per core by default; a worker sharing its machine with the
    # API or other workers can leave cores to them (measured in benchmarks/RESULTS.md).
    torch_threads: int = Field(
        0,
        ge=0,
        description="torch intra-op threads of each worker process; 0: torch's default "
        "(one per core).",
    )

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    @property
    def broker_url(self) -> str:
        return self.redis_url or LOCAL_REDIS_URL

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url is None:
            return f"sqlite:///{self.data_dir.resolve() / 'gradflow.db'}"
        # Plain postgresql:// would pick psycopg2; psycopg 3 is the driver this project ships.
        for prefix in ("postgresql://", "postgres://"):
            if self.database_url.startswith(prefix):
                return "postgresql+psycopg://" + self.database_url.removeprefix(prefix)
        return self.database_url

"""`python -m cli compose-gpus N`: a compose override that runs one worker per GPU.

docker-compose.yml's workers run on the CPU. A GPU reservation by `count` hands every
container the same first GPUs, so `--scale worker=N` would put all N workers on GPU 0; this
file instead pins the `worker` service to GPU 0 and adds `worker-gpu1` .. `worker-gpu<N-1>`,
each extending it with its own `device_ids`. It is JSON, which compose reads as YAML:

    python -m cli compose-gpus 4 > docker-compose.gpus.yml
    docker compose -f docker-compose.yml -f docker-compose.gpus.yml up -d
"""

from __future__ import annotations

import argparse
import json
from typing import Any

GPUS_MAX = 64
BASE_FILE = "docker-compose.yml"
# Older compose releases drop depends_on through `extends`: each added worker states it.
WORKER_DEPENDS_ON = {
    "redis": {"condition": "service_healthy"},
    "postgres": {"condition": "service_healthy"},
}


def add_compose_gpus_command(commands: argparse._SubParsersAction) -> None:
    command = commands.add_parser(
        "compose-gpus", help="print a compose override file: one worker per GPU"
    )
    command.add_argument("gpus", type=gpu_count, help=f"how many GPUs (1 to {GPUS_MAX})")


def gpu_count(text: str) -> int:
    count = int(text) if text.isdigit() else 0
    if not 1 <= count <= GPUS_MAX:
        raise argparse.ArgumentTypeError(f"{text!r}: a whole number from 1 to {GPUS_MAX}")
    return count


def gpu_override(gpus: int) -> dict[str, Any]:
    """The override's services: `worker` on GPU 0, `worker-gpu<i>` on GPU i."""
    services: dict[str, Any] = {"worker": _on_gpu(0)}
    for index in range(1, gpus):
        services[f"worker-gpu{index}"] = {
            "extends": {"file": BASE_FILE, "service": "worker"},
            "depends_on": WORKER_DEPENDS_ON,
            **_on_gpu(index),
        }
    return {"services": services}


def _on_gpu(index: int) -> dict[str, Any]:
    device = {"driver": "nvidia", "device_ids": [str(index)], "capabilities": ["gpu"]}
    return {"deploy": {"resources": {"reservations": {"devices": [device]}}}}


def print_gpu_override(gpus: int) -> int:
    header = f"# One Celery worker per GPU (0 to {gpus - 1}); python -m cli compose-gpus {gpus}"
    print(header)
    print(json.dumps(gpu_override(gpus), indent=2))
    return 0

"""docker-compose.yml keeps Redis and PostgreSQL private and password-protected, runs its
workers on the CPU, and `cli compose-gpus` gives each GPU its own worker."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from cli.__main__ import main
from tests.support.waits import scaled

ROOT = Path(__file__).parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
APP_SERVICES = [
    name
    for name, service in COMPOSE["services"].items()
    if service.get("image", "").startswith("gradflow")
]


def test_redis_and_postgres_are_unpublished_and_need_passwords() -> None:
    services = COMPOSE["services"]
    for name in ("redis", "postgres"):
        assert "ports" not in services[name], f"{name} must not be published"
    assert "--requirepass" in " ".join(services["redis"]["command"])
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${")
    for name in ("api", "worker"):
        environment = services[name]["environment"]
        assert "${REDIS_PASSWORD" in environment["REDIS_URL"]
        assert "${POSTGRES_PASSWORD" in environment["DATABASE_URL"]


def test_the_api_is_published_on_loopback_unless_told_otherwise() -> None:
    assert COMPOSE["services"]["api"]["ports"] == ["${GRADFLOW_PUBLISH:-127.0.0.1:8000}:8000"]


def test_the_api_answers_to_its_service_name_and_is_told_its_bind_address() -> None:
    api = COMPOSE["services"]["api"]["environment"]
    assert "api" in api["GRADFLOW_ALLOWED_HOSTS"].split(",")
    # The API trusts HOST to be what uvicorn binds (jobs/exposure.py): the image passes it on.
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert '--host \\"$HOST\\"' in dockerfile and api["HOST"] == "0.0.0.0"


def test_the_default_file_runs_anywhere_no_service_reserves_a_device() -> None:
    for name, service in COMPOSE["services"].items():
        assert "devices" not in json.dumps(service.get("deploy", {})), name
    worker = COMPOSE["services"]["worker"]
    assert worker["command"][:3] == ["celery", "-A", "worker.celery_app"]
    assert "profiles" not in worker and "profiles" not in COMPOSE["services"]["api"]


def test_only_the_datasets_tool_may_write_the_datasets_volume() -> None:
    for name in APP_SERVICES:
        service = COMPOSE["services"][name]
        mounts = [v for v in service["volumes"] if v.split(":")[0] == "datasets"]
        assert mounts, f"{name} does not mount the datasets volume"
        if name == "datasets":
            assert mounts == ["datasets:/data/datasets"]
            # A one-off tool: `docker compose up` leaves it alone.
            assert service["profiles"] == ["tools"]
            assert service["entrypoint"] == ["python", "-m", "cli", "datasets"]
            assert service["environment"]["GRADFLOW_DATA_DIR"] == "/data"
        else:
            assert all(mount.endswith(":ro") for mount in mounts), name


def gpu_override(gpus: int, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["compose-gpus", str(gpus)]) == 0
    return yaml.safe_load(capsys.readouterr().out)


@pytest.mark.parametrize("gpus", [1, 2, 4])
def test_compose_gpus_puts_one_worker_on_each_gpu(
    gpus: int, capsys: pytest.CaptureFixture[str]
) -> None:
    services = gpu_override(gpus, capsys)["services"]
    assert len(services) == gpus
    device_ids = []
    for name, service in services.items():
        (device,) = service["deploy"]["resources"]["reservations"]["devices"]
        assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
        assert "count" not in device  # a count would hand each the same first GPU
        device_ids += device["device_ids"]
        if name != "worker":
            assert service["extends"] == {"file": "docker-compose.yml", "service": "worker"}
            # extends does not carry depends_on over: each states the base worker's.
            assert service["depends_on"] == COMPOSE["services"]["worker"]["depends_on"]
    assert device_ids == [str(index) for index in range(gpus)]


@pytest.mark.parametrize("count", ["0", "65", "two", "-1"])
def test_compose_gpus_refuses_a_count_out_of_range(
    count: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["compose-gpus", count])
    assert "a whole number from 1 to 64" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="no docker-compose binary")
def test_docker_compose_accepts_both_variants(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(ROOT / "docker-compose.yml", tmp_path)
    (tmp_path / "docker-compose.gpus.yml").write_text(json.dumps(gpu_override(2, capsys)))
    env = {**os.environ, "POSTGRES_PASSWORD": "p", "REDIS_PASSWORD": "r"}
    for files in (["docker-compose.yml"], ["docker-compose.yml", "docker-compose.gpus.yml"]):
        arguments = [part for name in files for part in ("-f", name)]
        checked = subprocess.run(
            ["docker-compose", *arguments, "config", "-q"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=scaled(60),
        )
        assert checked.returncode == 0, checked.stderr

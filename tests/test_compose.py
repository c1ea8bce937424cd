"""docker-compose.yml keeps Redis and PostgreSQL private and password-protected."""

from __future__ import annotations

from pathlib import Path

import yaml

COMPOSE = yaml.safe_load((Path(__file__).parents[1] / "docker-compose.yml").read_text())


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
    dockerfile = (Path(__file__).parents[1] / "Dockerfile").read_text()
    assert '--host \\"$HOST\\"' in dockerfile and api["HOST"] == "0.0.0.0"

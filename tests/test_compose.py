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

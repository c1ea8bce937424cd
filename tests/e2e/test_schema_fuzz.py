"""Schemathesis's command line against the live API's OpenAPI schema, with every check and
phase: uvicorn on SQLite and on PostgreSQL with the machine's Redis (no worker, so submitted jobs
stay queued). No request may get a 5xx; every response must be one its operation documents and
match its schema, content type and headers; valid data must be accepted and invalid data
refused (one narrowing, explained in schemathesis.toml beside this file); a 405 must list the
methods the path documents; the stateful phase follows the links from created resources."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cli.serve import Child, api_command
from jobs.settings import Settings
from tests.support.postgres import POSTGRES_URL, postgres_reachable, postgres_schema, schema_url
from tests.support.stack import (
    READY_TIMEOUT_S,
    REAL_REDIS_URL,
    new_stack,
    redis_reachable,
    service_env,
    stop_stack,
)
from tests.support.waits import scaled

pytestmark = [
    pytest.mark.timeout(scaled(300)),
    pytest.mark.skipif(not redis_reachable(REAL_REDIS_URL), reason=f"no Redis at {REAL_REDIS_URL}"),
]
CONFIG = Path(__file__).with_name("schemathesis.toml")
EXAMPLES_PER_OPERATION = 15


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live_api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    if request.param == "sqlite":
        yield from _serve(tmp_path_factory, {})
        return
    if not postgres_reachable():
        pytest.skip(f"no PostgreSQL at {POSTGRES_URL} (set GRADFLOW_TEST_POSTGRES_URL)")
    with postgres_schema() as schema:
        yield from _serve(tmp_path_factory, {"DATABASE_URL": schema_url(schema)})


def _serve(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> Iterator[str]:
    stack = new_stack(tmp_path_factory.mktemp("fuzz"), REDIS_URL=REAL_REDIS_URL, **env)
    port = int(stack.env["PORT"])
    command = api_command(Settings(data_dir=stack.data_dir, port=port))
    with (stack.data_dir / "api.log").open("wb") as log:
        process = subprocess.Popen(
            command, env=service_env(**stack.env), stdout=log, stderr=subprocess.STDOUT
        )
    stack.children.append(Child("api", process))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/v1/health", timeout=5)  # degraded (no worker) is fine here
            break
        except httpx.TransportError:
            assert process.poll() is None, stack.logs()
            time.sleep(0.2)
    yield url
    stop_stack(stack)


def test_every_check_passes_on_every_operation(live_api: str) -> None:
    command = [
        str(Path(sys.executable).with_name("st")), "--config-file", str(CONFIG), "--no-color",
        "run", f"{live_api}/openapi.json",
        # No --checks: every check runs by default, and a command-line --checks would override
        # the narrowing per operation in the config file (health's 503 there).
        "--phases", "examples,coverage,fuzzing,stateful",
        "--max-examples", str(EXAMPLES_PER_OPERATION),
        # Event streams stay open while their job is queued, which here is forever.
        "--exclude-path-regex", "events",
        "--generation-database", "none",
        "--workers", "2",
    ]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=scaled(240))
    report = run.stdout + run.stderr
    print(report[-3000:])
    assert run.returncode == 0, report[-20_000:]

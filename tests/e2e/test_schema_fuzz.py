"""Schemathesis against the live API's OpenAPI schema: uvicorn on SQLite and the machine's Redis
(no worker, so submitted jobs stay queued). No request may get a 5xx, and every response must
match the schema documented for its status code and carry the documented content type."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from cli.serve import Child, api_command
from jobs.settings import Settings
from tests.e2e.conftest import (
    READY_TIMEOUT_S,
    REAL_REDIS_URL,
    new_stack,
    redis_reachable,
    service_env,
    stop_stack,
)

pytestmark = [
    pytest.mark.timeout(240),
    pytest.mark.skipif(not redis_reachable(REAL_REDIS_URL), reason=f"no Redis at {REAL_REDIS_URL}"),
]
EXAMPLES_PER_OPERATION = 15
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    stack = new_stack(tmp_path_factory.mktemp("fuzz"), REDIS_URL=REAL_REDIS_URL)
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


def test_no_server_errors_and_responses_match_their_schemas(live_api: str) -> None:
    # Event streams stay open while their job is queued, which here is forever.
    schema = schemathesis.openapi.from_url(f"{live_api}/openapi.json").exclude(path_regex="events")
    cases = 0
    for loaded in schema.get_all_operations():
        operation = loaded.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
            )
            def call(case) -> None:
                nonlocal cases
                cases += 1
                case.call_and_validate(checks=CHECKS, timeout=30)

            try:
                call()
            except Unsatisfiable:
                # No invalid request exists for an operation without inputs.
                assert mode is GenerationMode.NEGATIVE, operation.label
    print(f"schemathesis: {cases} requests")
    assert cases > 0

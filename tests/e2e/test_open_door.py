"""Plain uvicorn, as the Dockerfile and compose start the API, on 0.0.0.0: the application
refuses to start while no API key exists, and starts once one does or once the network is
declared trusted (which it says loudly)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from jobs import keys
from jobs.db import init_db, make_engine
from jobs.settings import Settings
from tests.support.stack import READY_TIMEOUT_S, free_port, service_env
from tests.support.waits import scaled, wait_until

pytestmark = pytest.mark.timeout(scaled(180))


def _uvicorn(data_dir: Path, **env: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app",
        "--host", "0.0.0.0", "--port", str(port),
    ]  # fmt: skip
    env = service_env(GRADFLOW_DATA_DIR=str(data_dir), HOST="0.0.0.0", PORT=str(port), **env)
    with (data_dir / "api.log").open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    return process, port


def _serves(process: subprocess.Popen, port: int) -> bool:
    assert process.poll() is None, "the API exited"
    try:
        return httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def test_uvicorn_on_0_0_0_0_without_a_key_refuses_to_start(tmp_path: Path) -> None:
    process, _port = _uvicorn(tmp_path)
    status = process.wait(timeout=READY_TIMEOUT_S)
    log = (tmp_path / "api.log").read_text()
    assert status != 0, log
    assert "refusing to listen on HOST=0.0.0.0: no API key is configured" in log
    assert "python -m cli keys create" in log and "GRADFLOW_TRUST_NETWORK" in log
    assert "Uvicorn running" not in log


@pytest.mark.parametrize("opening", ["key", "trusted network"])
def test_uvicorn_on_0_0_0_0_starts_with_a_key_or_a_trusted_network(
    tmp_path: Path, opening: str
) -> None:
    env = {}
    if opening == "key":
        with init_db(make_engine(Settings(data_dir=tmp_path)))() as session:
            keys.create_key(session, "ops")
    else:
        env["GRADFLOW_TRUST_NETWORK"] = "1"
    process, port = _uvicorn(tmp_path, **env)
    try:
        wait_until(lambda: _serves(process, port), 90, "the API answering")
    finally:
        process.terminate()
        process.wait(timeout=30)
    log = (tmp_path / "api.log").read_text()
    assert ("SERVING WITHOUT API KEYS on HOST=0.0.0.0" in log) == (opening != "key"), log

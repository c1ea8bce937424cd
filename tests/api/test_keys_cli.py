"""`python -m cli keys` and `cli serve`'s refusal to listen beyond loopback without a key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cli.__main__ import main
from cli.serve import refuse_open_exposure
from jobs import keys
from jobs.db import init_db, make_engine
from jobs.settings import Settings
from tests.support.stack import free_port, service_env

# Starts processes of its own: outside `make test-fast`.
pytestmark = pytest.mark.processes


def _keys(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = main(["keys", *args])
    return status, capsys.readouterr().out


def test_keys_create_list_revoke(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("GRADFLOW_DATA_DIR", str(tmp_path))
    status, out = _keys(capsys, "create", "alice laptop")
    assert status == 0
    token = out.splitlines()[-1]
    key_id = token.split("_")[1]
    with init_db(make_engine(Settings(data_dir=tmp_path)))() as session:
        assert keys.owner_of(session, token) == key_id
    status, out = _keys(capsys, "list")
    assert status == 0 and key_id in out and "alice laptop" in out and "revoked: -" in out
    assert token not in out
    assert _keys(capsys, "revoke", key_id)[0] == 0
    assert "revoked: 20" in _keys(capsys, "list")[1]
    status, out = _keys(capsys, "revoke", key_id)
    assert status == 1 and "no active key" in out


def _serve_on(host: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = service_env(GRADFLOW_DATA_DIR=str(data_dir), HOST=host, PORT=str(free_port()))
    return subprocess.run(
        [sys.executable, "-m", "cli", "serve"], env=env, capture_output=True, text=True, timeout=60
    )


def test_serve_refuses_a_public_address_without_keys(tmp_path: Path) -> None:
    refused = _serve_on("0.0.0.0", tmp_path)
    assert refused.returncode == 1
    assert "refusing to listen on HOST=0.0.0.0" in refused.stderr
    assert "python -m cli keys create" in refused.stderr
    assert not (tmp_path / "redis.sock").exists()  # nothing was started


def test_a_public_address_is_allowed_once_a_key_exists(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, host="0.0.0.0")
    with init_db(make_engine(settings))() as session:
        keys.create_key(session, "ops")
    refuse_open_exposure(settings)  # returns: serving may go on

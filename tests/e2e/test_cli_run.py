"""`python -m cli run spec.json -o result.json`: one experiment locally, no server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gradcore.result import ExperimentResult
from tests.support.specs import TINY_SPEC
from tests.support.waits import scaled

pytestmark = pytest.mark.timeout(scaled(120))


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli", "run", *args], capture_output=True, text=True, timeout=100
    )


def test_run_writes_the_result(tmp_path: Path) -> None:
    spec, output = tmp_path / "spec.json", tmp_path / "result.json"
    spec.write_text(json.dumps(TINY_SPEC))
    done = _run(str(spec), "-o", str(output), "--data-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    result = ExperimentResult.model_validate_json(output.read_text())
    assert result.summary.outcome == "completed" and result.hidden_grad.step == [0, 10, 20, 29]
    assert "30/30" in done.stderr  # the progress bar reached the end


def test_run_explains_an_invalid_spec(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({**TINY_SPEC, "hidden_size": 0, "task": "temporal_order"}))
    done = _run(str(spec))
    assert done.returncode == 1
    assert "hidden_size" in done.stderr and "not a valid spec" in done.stderr

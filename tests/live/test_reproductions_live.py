"""`reproduce --server` against the live service: its worker runs the claim's sweeps and the
service's verdict is the one the same predicate gives on results computed here."""

from __future__ import annotations

import subprocess
import sys

import gradcore
from gradcore.reproductions import REPRODUCTIONS, check
from gradflow_client import Client
from tests.live.conftest import Live
from tests.live.test_dashboard import browse
from tests.support.waits import scaled

REPRODUCE_TIMEOUT_S = 120  # three one-step runs of a tanh RNN, T = 25, 50, 100


def test_reproduce_on_the_server_decides_as_the_local_check(live: Live) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cli", "reproduce", "tanh_vanishing", "--seeds", "1",
         "--server", live.url],
        capture_output=True, text=True, timeout=scaled(REPRODUCE_TIMEOUT_S), check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "tanh_vanishing (cpu, 1 seeds, on the server): PASS" in done.stdout
    run_id = done.stdout.split("run ", 1)[1].split(",", 1)[0]
    with Client(live.url) as client:
        run = client.reproduction(run_id)
        assert run["status"] == "passed" and run["counts"] == {"succeeded": 3}
        assert client.sweep(run["sweeps"][0])["reproduction"] == run_id
    local = check(REPRODUCTIONS["tanh_vanishing"], "cpu", 1, gradcore.run)
    assert local.passed and run["measured"] == local.measured
    # The sweep's page shows the same verdict.
    page = browse("verdict.mjs", live.url, run["sweeps"][0])
    assert page["word"] == "PASS" and page["measured"] == run["measured"]
    assert page["claim"].startswith(REPRODUCTIONS["tanh_vanishing"].claim)

"""The held-out evaluation: chunked by bytes and without the top layer's sequence for last-step
tasks, it gives the straightforward whole-batch forward's loss and metric."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from gradcore.estimate import eval_bytes_per_example, eval_chunk_size, step_bytes
from gradcore.model import Network
from gradcore.summary import evaluate
from gradcore.tasks import build_task
from gradcore.tasks.base import TaskData
from gradcore.train import seeded_network
from tests.gradcore.helpers import small_spec


@torch.no_grad()
def reference(net: Network, task: TaskData) -> tuple[float, float]:
    """The whole eval set in one forward that keeps every sequence."""
    batch = task.eval_batch()
    features, _ = net(batch.inputs, None)
    logits = net.readout(features if task.every_step else features[-1])
    return float(task.loss(logits, batch.targets)), float(task.metric(logits, batch.targets))


@pytest.mark.parametrize(
    "fields",
    [
        {"cell": "tanh"},
        {"cell": "lstm", "num_layers": 2},
        {"cell": "gru", "task": "copy", "seq_len": 5},
        {"cell": "esn"},
        {"cell": "indrnn", "task": "temporal_order", "seq_len": 12},
        {"cell": "mlp", "task": "pixel_digits", "seq_len": 64, "num_layers": 2},
    ],
)
def test_chunked_evaluation_equals_the_whole_batch_forward(fields: dict[str, Any]) -> None:
    spec = small_spec(**fields)
    task = build_task(spec)
    net = seeded_network(spec, task.input_size, task.output_size)
    loss, metric = reference(net, task)
    for chunk in (7, eval_chunk_size(spec)):  # uneven chunks, and the run's own
        result = evaluate(net, task, torch.device("cpu"), chunk)
        assert result.loss == pytest.approx(loss, rel=1e-5)
        assert result.metric == pytest.approx(metric, rel=1e-5, abs=1e-6)


def test_eval_chunks_fit_a_training_step() -> None:
    """At T = 3000, batch 64: a chunk needs no more than the training step (or the floor)."""
    for task in ("adding", "copy"):
        spec = small_spec(task=task, seq_len=3000, hidden_size=128, batch_size=64)
        chunk_bytes = eval_chunk_size(spec) * eval_bytes_per_example(spec)
        assert chunk_bytes <= max(step_bytes(spec), 64 * 2**20)

"""`python -m cli run spec.json -o result.json`: one experiment in this process, no server.

The first Ctrl-C stops training at the next step and still writes the partial result.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

from pydantic import ValidationError
from tqdm import tqdm

import gradcore
from gradcore.result import Progress
from gradcore.spec import ExperimentSpec
from jobs.datasets import load_image_sets


def load_spec(path: Path) -> ExperimentSpec:
    try:
        return ExperimentSpec.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise SystemExit(f"run: cannot read {path}: {exc.strerror}") from exc
    except ValidationError as exc:
        problems = "\n".join(
            f"  {'.'.join(map(str, e['loc'])) or 'spec'}: {e['msg']}" for e in exc.errors()
        )
        raise SystemExit(f"run: {path} is not a valid spec:\n{problems}") from exc


def run_spec(spec_path: Path, output: Path | None, data_dir: Path) -> int:
    spec = load_spec(spec_path)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with tqdm(total=spec.steps, unit="step", file=sys.stderr) as bar:

        def show(progress: Progress) -> None:
            bar.update(progress.step - bar.n)
            if progress.loss is not None:
                bar.set_postfix(loss=f"{progress.loss:.4g}")

        try:
            result = gradcore.run(spec, show, stop.is_set, load_image_sets(data_dir))
        except ValueError as exc:
            raise SystemExit(f"run: {exc}") from exc
        bar.update(result.summary.steps_completed - bar.n)
    document = result.model_dump_json()
    if output is None:
        print(document)
    else:
        output.write_text(document)
    summary = result.summary
    print(
        f"run: {summary.outcome} after {summary.steps_completed} steps, final loss "
        f"{summary.final_loss}, eval {summary.metric_name} {summary.eval_metric}",
        file=sys.stderr,
    )
    return 0 if summary.outcome == "completed" else 1

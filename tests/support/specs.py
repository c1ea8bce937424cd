"""Specs the service tests submit: small enough to train in a second or two on a CPU."""

TINY_SPEC = {
    "cell": "tanh",
    "task": "adding",
    "seq_len": 20,
    "hidden_size": 16,
    "steps": 30,
    "probe_every": 10,
    "batch_size": 16,
}

# A few seconds of training with Adam's state, clipping and an LSTM: everything a checkpoint
# must carry, long enough to be killed mid-run after a checkpoint (about 2 ms a step idle).
RESUMABLE_SPEC = {
    **TINY_SPEC,
    "cell": "lstm",
    "seq_len": 50,
    "hidden_size": 32,
    "steps": 1500,
    "probe_every": 300,
    "optimizer": {"name": "adam", "lr": 0.01},
    "clipping": {"mode": "norm", "max_norm": 0.5},
}

# Minutes of training unless cancelled: for observing a running job.
LONG_SPEC = {**TINY_SPEC, "seq_len": 100, "hidden_size": 64, "steps": 100_000}
# A few seconds of training: long enough to be killed mid-run, short enough to run again.
MEDIUM_SPEC = {**TINY_SPEC, "seq_len": 50, "hidden_size": 32, "steps": 400, "probe_every": 100}

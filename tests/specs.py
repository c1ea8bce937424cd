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
# must carry, long enough to be killed mid-run after a checkpoint.
RESUMABLE_SPEC = {
    **TINY_SPEC,
    "cell": "lstm",
    "seq_len": 50,
    "hidden_size": 32,
    "steps": 400,
    "probe_every": 100,
    "optimizer": {"name": "adam", "lr": 0.01},
    "clipping": {"mode": "norm", "max_norm": 0.5},
}

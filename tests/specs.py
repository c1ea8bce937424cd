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

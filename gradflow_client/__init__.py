"""Python client of the Gradflow API: `from gradflow_client import Client`."""

from gradflow_client.client import Client, GradflowError
from gradflow_client.follow import End, Progress, RunEvent, Status, Traces, merge
from gradflow_client.sse import Event

__all__ = [
    "Client",
    "End",
    "Event",
    "GradflowError",
    "Progress",
    "RunEvent",
    "Status",
    "Traces",
    "merge",
]

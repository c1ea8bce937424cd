"""Python client of the Gradflow API: `from gradflow_client import Client`."""

from gradflow_client.client import Client, GradflowError
from gradflow_client.sse import Event

__all__ = ["Client", "Event", "GradflowError"]

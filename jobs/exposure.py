"""The open-door check: the API never listens beyond loopback while no API key exists, unless
the operator says the network is trusted (GRADFLOW_TRUST_NETWORK), which is logged as a warning
at every start.

uvicorn does not tell the application the address it binds, so the check trusts HOST: whatever
starts uvicorn must give it `--host "$HOST"` (the Dockerfile and `cli serve` do).
"""

from __future__ import annotations

import ipaddress
import logging

from sqlalchemy.orm import Session

from jobs.keys import keys_configured
from jobs.settings import Settings

log = logging.getLogger(__name__)


class OpenExposureError(RuntimeError):
    """HOST is beyond loopback, no API key exists and the network is not declared trusted."""


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def check_exposure(settings: Settings, session: Session) -> None:
    """Raise OpenExposureError, saying why and what to do, if serving on HOST would open this
    machine to anyone who can reach it; warn if only GRADFLOW_TRUST_NETWORK allows it."""
    if is_loopback(settings.host) or keys_configured(session):
        return
    if settings.trust_network:
        log.warning(
            "SERVING WITHOUT API KEYS on HOST=%s because GRADFLOW_TRUST_NETWORK is set: anyone "
            "who can reach this address can run jobs here and read every result.",
            settings.host,
        )
        return
    raise OpenExposureError(
        f"refusing to listen on HOST={settings.host}: no API key is configured, so anyone who "
        "can reach this address could run jobs on this machine and read every result. Create "
        "a key first (python -m cli keys create NAME), leave HOST at 127.0.0.1, or, on a "
        "network you trust, set GRADFLOW_TRUST_NETWORK=1."
    )

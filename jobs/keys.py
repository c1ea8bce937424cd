"""API keys: made and revoked with `python -m cli keys`, stored hashed, checked per request.

A token reads `gf_<id>_<secret>`. The id is public: it names the key in listings and owns the
experiments the key submits. Only SHA-256 of the secret is stored; the secrets are 256 random
bits, so a fast hash is enough (there is no password to guess), and a stolen database yields
no usable token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from jobs.models import ApiKey, utcnow

TOKEN = re.compile(r"^gf_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(session: Session, name: str) -> tuple[ApiKey, str]:
    """A new key and its token, which is shown this once and never stored."""
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    key = ApiKey(id=key_id, name=name, secret_hash=_digest(secret))
    session.add(key)
    session.commit()
    return key, f"gf_{key_id}_{secret}"


def revoke_key(session: Session, key_id: str) -> bool:
    """False when no active key has this id."""
    revoked = session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    ).rowcount
    session.commit()
    return revoked == 1


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at)))


def keys_configured(session: Session) -> bool:
    """Whether authentication is on: once any key was made, revoked ones included, so that
    revoking the last key locks the service rather than opening it."""
    return session.scalar(select(ApiKey.id).limit(1)) is not None


def owner_of(session: Session, token: str) -> str | None:
    """The id of the active key `token` belongs to, or None."""
    match = TOKEN.match(token)
    if match is None:
        return None
    key_id, secret = match.groups()
    stored = session.scalar(
        select(ApiKey.secret_hash).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
    )
    if stored is None or not hmac.compare_digest(stored, _digest(secret)):
        return None
    return key_id

"""API tokens for integrations: random, shown once, stored as a SHA-256 hash, revocable."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.access import TOKEN_ROLES, Principal
from app.models import ApiToken, Role
from app.models.base import utc_now
from app.services.errors import Invalid

PREFIX = "jg_"


def _digest(token: str) -> str:
    # Tokens are 256 random bits: a fast hash is enough (nothing to brute-force).
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session, *, name: str, role: Role, created_by_id: int | None
) -> tuple[ApiToken, str]:
    """A new token; returns the record and the token itself, which is never shown again."""
    if role not in TOKEN_ROLES:
        raise Invalid.field("role", "tokens act for finance, registrars or admins, not people")
    token = PREFIX + secrets.token_urlsafe(32)
    record = ApiToken(
        name=name,
        role=role,
        token_hash=_digest(token),
        prefix=token[: len(PREFIX) + 6],
        created_by_id=created_by_id,
    )
    session.add(record)
    session.flush()
    return record, token


def principal_for_token(session: Session, token: str) -> Principal | None:
    """The principal a bearer token acts as, or ``None`` for an unknown or revoked token."""
    record = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if record is None or record.revoked_at is not None:
        return None
    record.last_used_at = utc_now()
    return Principal(actor=record.actor, role=record.role, name=record.name)


def revoke_token(session: Session, token_id: int) -> ApiToken | None:
    record = session.get(ApiToken, token_id)
    if record is not None and record.revoked_at is None:
        record.revoked_at = utc_now()
    return record

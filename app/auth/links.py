"""Emailed account links: an invitation, a password reset, an email change.

A link carries 256 random bits; only their SHA-256 is stored. It works once, until it expires,
and a newer link of the same purpose for the same account replaces (spends) the older ones.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models import AccountLink, LinkPurpose, User
from app.models.base import utc_now


class LinkRefused(Exception):
    """The link is unknown, used or expired; ``reason`` says which, for the page to explain."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _digest(token: str) -> str:
    # 256 random bits: a fast hash is enough (nothing to brute-force).
    return hashlib.sha256(token.encode()).hexdigest()


def issue_link(
    session: Session,
    user: User,
    purpose: LinkPurpose,
    lifetime: timedelta,
    *,
    actor: str,
    new_email: str | None = None,
) -> str:
    """A new link token for ``user``; earlier unused links of the same purpose stop working."""
    now = utc_now()
    session.execute(
        update(AccountLink)
        .where(
            AccountLink.user_id == user.id,
            AccountLink.purpose == purpose,
            AccountLink.used_at.is_(None),
        )
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(32)
    session.add(
        AccountLink(
            user_id=user.id,
            purpose=purpose,
            token_hash=_digest(token),
            new_email=new_email,
            expires_at=now + lifetime,
            created_by=actor,
        )
    )
    session.flush()
    return token


def live_link(session: Session, token: str, purposes: frozenset[LinkPurpose]) -> AccountLink:
    """The unused, unexpired link of one of ``purposes`` that ``token`` opens; ``LinkRefused``
    saying why otherwise."""
    if not token or len(token) > 100:
        raise LinkRefused("unknown")
    link = session.scalar(select(AccountLink).where(AccountLink.token_hash == _digest(token)))
    if link is None or link.purpose not in purposes:
        raise LinkRefused("unknown")
    if link.used_at is not None:
        raise LinkRefused("used")
    if link.expires_at <= utc_now():
        raise LinkRefused("expired")
    if not link.user.active:
        raise LinkRefused("disabled")
    return link


def spend(link: AccountLink) -> None:
    """Mark ``link`` used: it is refused from now on."""
    link.used_at = utc_now()

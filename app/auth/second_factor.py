"""The second factor: a TOTP authenticator app (RFC 6238), and one-time recovery codes.

Finance and admins must have it (they move money and manage accounts); everyone else may turn
it on. A code is accepted once: the 30-second step it belongs to is remembered, and a code of
that step or an earlier one is refused afterwards. Recovery codes are random, shown once when
made, stored as SHA-256 hashes and each accepted once.

The authenticator secret is kept sealed (``app.auth.sealing``): ``turn_on`` seals it and
``check_code`` opens it. One that no key of ``DATA_ENCRYPTION_KEYS`` opens (a wrong or missing
key) is logged as an error and its codes are refused; recovery codes still sign in.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import MutableMapping
from datetime import datetime

import pyotp
import segno
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.auth.sealing import Unopenable, keyring
from app.models import RecoveryCode, Role, User
from app.models.base import utc_now

logger = logging.getLogger(__name__)

#: Roles that must have a second factor before any page or API answers their session.
REQUIRED_FOR = frozenset({Role.FINANCE, Role.ADMIN})

#: How the authenticator app names the account.
ISSUER = "Job Guarantee"

#: Steps either side of now that are accepted (clocks drift; codes take time to type).
VALID_WINDOW = 1

#: Recovery codes made at enrolment.
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def required(user: User) -> bool:
    """Whether ``user`` may not sign in without a second factor."""
    return user.role in REQUIRED_FOR


def enabled(user: User) -> bool:
    return user.totp_enabled_at is not None and user.sealed_totp_secret is not None


def opened_secret(user: User) -> str | None:
    """``user``'s authenticator secret, opened; ``None`` when the second factor is off, or when
    no key opens it (logged as an error, without the secret or its token)."""
    if not enabled(user):
        return None
    try:
        return keyring().open(user.sealed_totp_secret)
    except Unopenable:
        logger.error(
            "the authenticator secret of user %s opens with no key of DATA_ENCRYPTION_KEYS:"
            " their authenticator codes are refused until the key that sealed it is added"
            " (recovery codes still sign in)",
            user.id,
        )
        return None


def new_secret() -> str:
    """A fresh random base32 secret (160 bits) for an authenticator app."""
    return pyotp.random_base32(32)


#: Where the secret being set up waits, between the page that shows it and the first code that
#: confirms it: the person's browser session, whose cookie is signed but readable, so sealed.
ENROLLING = "enrol_secret"


def enrolling_secret(browser_session: MutableMapping) -> str:
    """The secret being set up in ``browser_session`` (a new one the first time, or when the one
    kept there no longer opens), kept there sealed."""
    token = browser_session.get(ENROLLING)
    if isinstance(token, str):
        try:
            return keyring().open(token)
        except Unopenable:
            pass  # sealed under a key since dropped: a new secret, shown again
    secret = new_secret()
    browser_session[ENROLLING] = keyring().seal(secret)
    return secret


def provisioning_uri(secret: str, email: str) -> str:
    """The ``otpauth://`` address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The QR code of ``uri`` as an inline SVG element."""
    return segno.make(uri, error="m").svg_inline(scale=4, dark="#1a1a1a", light="#ffffff")


def _normalise(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def matching_counter(secret: str, code: str, at: datetime, after: int | None) -> int | None:
    """The 30-second step whose code ``code`` is, within the window around ``at`` and later than
    step ``after`` (the last one accepted); ``None`` when there is none."""
    code = _normalise(code)
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = totp.timecode(at)
    for counter in range(now - VALID_WINDOW, now + VALID_WINDOW + 1):
        if after is not None and counter <= after:
            continue
        if secrets.compare_digest(totp.generate_otp(counter), code):
            return counter
    return None


def check_code(user: User, code: str, at: datetime | None = None) -> bool:
    """Accept the authenticator code ``code`` of ``user`` once; record its step when accepted."""
    secret = opened_secret(user)
    if secret is None:
        return False
    counter = matching_counter(secret, code, at or utc_now(), user.totp_last_counter)
    if counter is None:
        return False
    user.totp_last_counter = counter
    return True


def _digest(code: str) -> str:
    return hashlib.sha256(_normalise(code).encode()).hexdigest()


def new_recovery_codes(session: Session, user: User) -> list[str]:
    """Replace ``user``'s recovery codes with new ones; returns them, to be shown once."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        code = f"{raw[:5]}-{raw[5:]}"
        session.add(RecoveryCode(user_id=user.id, code_hash=_digest(code)))
        codes.append(code)
    session.flush()
    return codes


def use_recovery_code(session: Session, user: User, code: str) -> bool:
    """Accept one of ``user``'s unused recovery codes once; it is spent from then on."""
    if len(_normalise(code)) != 10:
        return False
    record = session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _digest(code),
            RecoveryCode.used_at.is_(None),
        )
    )
    if record is None:
        return False
    record.used_at = utc_now()
    return True


def unused_recovery_codes(session: Session, user_id: int) -> int:
    return len(
        session.scalars(
            select(RecoveryCode.id).where(
                RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
            )
        ).all()
    )


def turn_on(session: Session, user: User, secret: str) -> list[str]:
    """Turn the second factor on with ``secret`` (its first code already checked); returns the
    recovery codes, shown once. The secret is kept sealed with the first key."""
    user.sealed_totp_secret = keyring().seal(secret)
    user.totp_enabled_at = utc_now()
    return new_recovery_codes(session, user)


def turn_off(session: Session, user: User) -> None:
    """Turn the second factor off and drop its recovery codes (never for a role that needs it)."""
    user.sealed_totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_counter = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def reseal_secrets(session: Session) -> tuple[int, list[int]]:
    """Seal again with the first key of ``DATA_ENCRYPTION_KEYS`` every authenticator secret
    sealed with another one (after a new key was put first); returns how many were sealed
    again, and the ids of the accounts whose secret no key opens (left as they are)."""
    ring = keyring()
    resealed, unopenable = 0, []
    users = session.scalars(
        select(User).where(User.sealed_totp_secret.is_not(None)).order_by(User.id)
    )
    for user in users:
        if ring.sealed_with_first_key(user.sealed_totp_secret):
            continue
        try:
            user.sealed_totp_secret = ring.reseal(user.sealed_totp_secret)
        except Unopenable:
            unopenable.append(user.id)
        else:
            resealed += 1
    session.flush()
    return resealed, unopenable

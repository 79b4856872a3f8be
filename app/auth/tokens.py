"""API tokens: random, shown once, stored as a SHA-256 hash, revocable.

Each token belongs to an account and acts as it (its role, its name in the audit trail and in
claim approvals), so two tokens of one person are still one person. A token is refused once it
expires, is revoked, or its account is disabled or has another role than when it was made.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import Select, bindparam, select, true, update
from sqlalchemy.orm import Session, joinedload

from app.auth.access import TOKEN_ROLES, Principal
from app.models import ApiToken, User
from app.models.base import utc_now
from app.services.errors import Invalid

PREFIX = "jg_"

#: A token's life when its maker does not choose one.
DEFAULT_LIFETIME_DAYS = 90
#: The longest life a token may have.
MAX_LIFETIME_DAYS = 365


def _digest(token: str) -> str:
    # Tokens are 256 random bits: a fast hash is enough (nothing to brute-force).
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session,
    *,
    user: User,
    name: str,
    lifetime_days: int = DEFAULT_LIFETIME_DAYS,
) -> tuple[ApiToken, str]:
    """A new token acting as ``user``; returns the record and the token itself, shown once."""
    if user.role not in TOKEN_ROLES:
        raise Invalid.field("role", _("tokens act for finance, registrars or admins, not people"))
    if not user.active:
        raise Invalid.field("user_id", _("the account is disabled"))
    if not 1 <= lifetime_days <= MAX_LIFETIME_DAYS:
        raise Invalid.field(
            "lifetime_days", _("a token lives from 1 to %(count)s days", count=MAX_LIFETIME_DAYS)
        )
    token = PREFIX + secrets.token_urlsafe(32)
    record = ApiToken(
        name=name,
        user_id=user.id,
        role=user.role,
        token_hash=_digest(token),
        prefix=token[: len(PREFIX) + 6],
        created_by_id=user.id,
        expires_at=utc_now() + timedelta(days=lifetime_days),
    )
    record.user = user
    session.add(record)
    session.flush()
    return record, token


def token_problem(record: ApiToken) -> str | None:
    """Why ``record`` is refused now, or ``None`` while it is good."""
    user = record.user
    if record.revoked_at is not None:
        return "revoked"
    if record.expires_at is None or record.expires_at <= utc_now():
        return "expired"
    if user is None or not user.active:
        return "its account is disabled"
    if user.role is not record.role:
        return "its account has another role now"
    return None


def principal_for_token(
    session: Session, token: str, *, record_use: bool = True
) -> Principal | None:
    """The account a bearer token acts as, or ``None`` for a token that is refused.

    ``record_use`` stamps the token's last use, saved when the caller commits; a request that
    only reads commits nothing, so it leaves the token's row alone instead of updating it
    and rolling the update back.
    """
    if not record_use:
        return _reading_principal(session, token)
    # The account comes with the token: one statement per request, not two.
    record = session.scalar(
        select(ApiToken)
        .options(joinedload(ApiToken.user))
        .where(ApiToken.token_hash == _digest(token))
    )
    if record is None or token_problem(record) is not None:
        return None
    record.last_used_at = utc_now()
    user = record.user
    return Principal(actor=user.actor, role=user.role, user_id=user.id, name=user.name)


#: What ``token_problem`` checks, asked of the database in the one statement that finds the
#: token: read on every API request, it reads only the account's columns it needs, and is
#: built once.
_GOOD_TOKENS_ACCOUNT = (
    select(User.id, User.email, User.name, User.role)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(
        ApiToken.token_hash == bindparam("token_hash"),
        ApiToken.revoked_at.is_(None),
        ApiToken.expires_at > bindparam("now"),
        User.active.is_(True),
        User.role == ApiToken.role,
    )
)


def _reading_principal(session: Session, token: str) -> Principal | None:
    found = session.execute(
        _GOOD_TOKENS_ACCOUNT, {"token_hash": _digest(token), "now": utc_now()}
    ).first()
    return None if found is None else _principal(*found)


def _principal(user_id: int, email: str, name: str, role) -> Principal:
    # The actor as ``User.actor`` names it.
    return Principal(actor=f"{role.value}:{email}", role=role, user_id=user_id, name=name)


def principal_for_token_reading(
    read_first: Callable[[Select, dict], Sequence | None],
    token: str,
    statement: Select,
    parameters: dict,
) -> tuple[Principal | None, Mapping | None]:
    """The account a bearer token acts as (as ``principal_for_token`` finds it for a request
    that only reads) and the first row of ``statement``, asked of the database in one
    statement, read by ``read_first(statement, parameters)``: one round trip instead of two.
    ``(None, None)`` for a token that is refused, whose statement yields nothing;
    ``(principal, None)`` when ``statement`` finds no row.

    The caller authorizes the principal before it uses the row.
    """
    combined, names = _with_reading(statement)
    found = read_first(combined, {"token_hash": _digest(token), "now": utc_now(), **parameters})
    if found is None:
        return None, None
    row = dict(zip(names, found[5:], strict=True)) if found[4] else None
    return _principal(*found[:4]), row


@functools.cache
def _with_reading(statement: Select) -> tuple[Select, tuple[str, ...]]:
    # The good token's account, then whether the statement found a row, then the row's
    # columns: the statement is a derived table joined on nothing (PostgreSQL and SQLite both
    # read it once), so a good token's row is there even when the statement finds nothing.
    names = tuple(statement.selected_columns.keys())
    reading = statement.add_columns(true().label("row_found")).subquery("reading")
    combined = (
        _GOOD_TOKENS_ACCOUNT.add_columns(reading.c.row_found)
        .add_columns(*(reading.c[name] for name in names))
        .outerjoin(reading, true())
    )
    return combined, names


def revoke_token(session: Session, token_id: int) -> ApiToken | None:
    record = session.get(ApiToken, token_id)
    if record is not None and record.revoked_at is None:
        record.revoked_at = utc_now()
    return record


def revoke_tokens_of(session: Session, user_id: int) -> int:
    """Revoke every live token of an account (it was disabled, or its role changed)."""
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utc_now())
    )
    return result.rowcount

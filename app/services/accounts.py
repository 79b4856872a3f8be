"""Accounts, roles and API tokens: what admins do, each change in the audit log."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import record
from app.auth.access import (
    TOKEN_ROLES,
    NotSignedIn,
    Permission,
    Principal,
    authorize,
    refuse,
)
from app.auth.passwords import hash_password, password_problems
from app.auth.sessions import end_all_sessions
from app.auth.tokens import DEFAULT_LIFETIME_DAYS, create_token, revoke_token, revoke_tokens_of
from app.models import ApiToken, Employer, Role, Student, User
from app.services.errors import Conflict, Invalid, NotFound


def _check_link(session: Session, role: Role, student_id: int | None, employer_id: int | None):
    if role is Role.GRADUATE:
        if student_id is None or session.get(Student, student_id) is None:
            raise Invalid.field("student_id", "a graduate account belongs to an existing student")
        taken = session.scalar(select(User.id).where(User.student_id == student_id))
        if taken is not None:
            raise Conflict("that student has an account already", "student_id")
    elif student_id is not None:
        raise Invalid.field("student_id", "only graduate accounts belong to a student")
    if role is Role.EMPLOYER:
        if employer_id is None or session.get(Employer, employer_id) is None:
            raise Invalid.field(
                "employer_id", "an employer account speaks for an existing employer"
            )
    elif employer_id is not None:
        raise Invalid.field("employer_id", "only employer accounts speak for an employer")


def create_account(
    session: Session,
    principal: Principal,
    *,
    email: str,
    name: str,
    role: Role,
    password: str,
    student_id: int | None = None,
    employer_id: int | None = None,
    check: bool = True,
) -> User:
    """Open an account; the password must meet the rules (``check=False`` only for seeding)."""
    if check:
        authorize(principal, Permission.MANAGE_ACCOUNTS)
    email = email.strip().lower()
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"an account with email {email} exists already", "email")
    problems = password_problems(password, email=email, name=name)
    if problems:
        raise Invalid({"password": problems})
    _check_link(session, role, student_id, employer_id)
    user = User(
        email=email,
        name=name,
        role=role,
        password_hash=hash_password(password),
        student_id=student_id,
        employer_id=employer_id,
    )
    session.add(user)
    session.flush()
    record(session, principal.actor, "account.created", f"user:{user.id}", f"{role.value} {email}")
    return user


def _account(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("User", user_id)
    return user


def set_active(session: Session, principal: Principal, user_id: int, active: bool) -> User:
    """Enable or disable an account; disabling ends all its sessions at once."""
    authorize(principal, Permission.MANAGE_ACCOUNTS)
    user = _account(session, user_id)
    if user.id == principal.user_id and not active:
        raise Conflict("you cannot disable your own account")
    user.active = active
    if not active:
        end_all_sessions(session, user.id, "account disabled")
        revoke_tokens_of(session, user.id)
    record(
        session,
        principal.actor,
        "account.enabled" if active else "account.disabled",
        f"user:{user.id}",
    )
    session.flush()
    return user


def change_role(
    session: Session,
    principal: Principal,
    user_id: int,
    role: Role,
    *,
    student_id: int | None = None,
    employer_id: int | None = None,
) -> User:
    """Give an account another role; its sessions end, so the new role applies at once."""
    authorize(principal, Permission.MANAGE_ACCOUNTS)
    user = _account(session, user_id)
    if user.id == principal.user_id:
        raise Conflict("you cannot change your own role")
    if role is Role.GRADUATE and user.student_id == student_id:
        pass  # already linked to that student
    else:
        _check_link(session, role, student_id, employer_id)
    before = user.role
    user.role, user.student_id, user.employer_id = role, student_id, employer_id
    end_all_sessions(session, user.id, "role changed")
    revoke_tokens_of(session, user.id)
    record(
        session,
        principal.actor,
        "account.role_changed",
        f"user:{user.id}",
        f"{before.value} -> {role.value}",
    )
    session.flush()
    return user


def set_password(session: Session, principal: Principal, user_id: int, password: str) -> User:
    """Set a new password (an admin's reset); the account's sessions end."""
    authorize(principal, Permission.MANAGE_ACCOUNTS)
    user = _account(session, user_id)
    problems = password_problems(password, email=user.email, name=user.name)
    if problems:
        raise Invalid({"password": problems})
    user.password_hash = hash_password(password)
    end_all_sessions(session, user.id, "password changed")
    record(session, principal.actor, "account.password_set", f"user:{user.id}")
    session.flush()
    return user


def _may_hold_tokens(principal: Principal) -> None:
    if not principal.authenticated:
        raise NotSignedIn()
    if principal.role not in TOKEN_ROLES or principal.user_id is None:
        refuse(principal, "hold API tokens")


def issue_token(
    session: Session,
    principal: Principal,
    *,
    name: str,
    lifetime_days: int = DEFAULT_LIFETIME_DAYS,
):
    """A new API token of the signed-in staff member's own account, acting as them.

    Nobody makes a token for someone else, admins included: a token acts as its account, so
    holding another person's token would let one person act (and approve) as two.
    The token itself is returned once and never stored.
    """
    _may_hold_tokens(principal)
    user = _account(session, principal.user_id)
    token, secret = create_token(session, user=user, name=name, lifetime_days=lifetime_days)
    record(
        session,
        principal.actor,
        "token.created",
        f"token:{token.id}",
        f"{token.role.value} {name}, expires {token.expires_at:%Y-%m-%d}",
    )
    return token, secret


def tokens_of(session: Session, principal: Principal) -> list[ApiToken]:
    """The signed-in staff member's own tokens, newest first."""
    _may_hold_tokens(principal)
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == principal.user_id)
            .order_by(ApiToken.id.desc())
        )
    )


def withdraw_token(session: Session, principal: Principal, token_id: int) -> ApiToken:
    """Revoke an API token: an admin any, anyone else their own; refused from the next request.

    Someone else's token is as unknown to a non-admin as a token that does not exist.
    """
    if not principal.can(Permission.MANAGE_ACCOUNTS):
        _may_hold_tokens(principal)
        owner = session.scalar(select(ApiToken.user_id).where(ApiToken.id == token_id))
        if owner is None or owner != principal.user_id:
            raise NotFound("ApiToken", token_id)
    token = revoke_token(session, token_id)
    if token is None:
        raise NotFound("ApiToken", token_id)
    record(session, principal.actor, "token.revoked", f"token:{token.id}")
    session.flush()
    return token

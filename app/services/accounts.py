"""Accounts, roles and API tokens: what admins do, each change in the audit log."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import record
from app.auth.access import Permission, Principal, authorize
from app.auth.passwords import hash_password, password_problems
from app.auth.sessions import end_all_sessions
from app.auth.tokens import create_token, revoke_token
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


def issue_token(session: Session, principal: Principal, *, name: str, role: Role):
    """A new API token; the token itself is returned once and never stored."""
    authorize(principal, Permission.MANAGE_ACCOUNTS)
    token, secret = create_token(session, name=name, role=role, created_by_id=principal.user_id)
    record(session, principal.actor, "token.created", f"token:{token.id}", f"{role.value} {name}")
    return token, secret


def withdraw_token(session: Session, principal: Principal, token_id: int) -> ApiToken:
    """Revoke an API token; it is refused from the next request on."""
    authorize(principal, Permission.MANAGE_ACCOUNTS)
    token = revoke_token(session, token_id)
    if token is None:
        raise NotFound("ApiToken", token_id)
    record(session, principal.actor, "token.revoked", f"token:{token.id}")
    session.flush()
    return token

"""Accounts, roles and API tokens: what admins do, each change in the audit log; and what a
person does to their own account: the invitation and reset links, their password, email and
second factor.

Emails go out after the caller commits (``send``): a link is never mailed for a change that was
rolled back.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import record
from app.auth import second_factor
from app.auth.access import (
    TOKEN_ROLES,
    NotSignedIn,
    Permission,
    Principal,
    authorize,
    refuse,
)
from app.auth.links import issue_link, live_link, spend
from app.auth.passwords import hash_password, password_problems, verify_password
from app.auth.sessions import end_all_sessions
from app.auth.tokens import DEFAULT_LIFETIME_DAYS, create_token, revoke_token, revoke_tokens_of
from app.mail import RenderedEmail, absolute_url, one_connection, render, send_email
from app.models import AccountLink, ApiToken, Employer, LinkPurpose, Role, Student, User
from app.models.base import utc_now
from app.services.errors import Conflict, Invalid, NotFound


def _check_link(session: Session, role: Role, student_id: int | None, employer_id: int | None):
    if role is Role.GRADUATE:
        if student_id is None or session.get(Student, student_id) is None:
            raise Invalid.field(
                "student_id", _("a graduate account belongs to an existing student")
            )
        taken = session.scalar(select(User.id).where(User.student_id == student_id))
        if taken is not None:
            raise Conflict(_("that student has an account already"), "student_id")
    elif student_id is not None:
        raise Invalid.field("student_id", _("only graduate accounts belong to a student"))
    if role is Role.EMPLOYER:
        if employer_id is None or session.get(Employer, employer_id) is None:
            raise Invalid.field(
                "employer_id", _("an employer account speaks for an existing employer")
            )
    elif employer_id is not None:
        raise Invalid.field("employer_id", _("only employer accounts speak for an employer"))


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
        raise Conflict(_("an account with email %(email)s exists already", email=email), "email")
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
        raise Conflict(_("you cannot disable your own account"))
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
        raise Conflict(_("you cannot change your own role"))
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


# -- Emails ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Email:
    """An email to send once the change that made it is committed."""

    to: str
    message: RenderedEmail
    #: The account link it carries (for a command to print).
    link: str


def send(emails: Iterable[Email]) -> int:
    """Send ``emails`` through one SMTP connection; how many the SMTP server took (a refusal is
    logged, not raised)."""
    with one_connection():
        return sum(
            send_email(email.to, email.message.subject, email.message.text, html=email.message.html)
            for email in emails
        )


def send_later(emails: Iterable[Email]) -> None:
    """Send ``emails`` from a thread of their own, so the answer does not wait for the SMTP
    server (and takes as long whether or not there was anything to send)."""
    emails = list(emails)
    if not emails:
        return
    app = current_app._get_current_object()

    def deliver():
        with app.app_context():
            send(emails)

    threading.Thread(target=deliver, name="account-email", daemon=True).start()


def _invitation_lifetime() -> timedelta:
    return timedelta(days=current_app.config["INVITATION_DAYS"])


def _reset_lifetime() -> timedelta:
    return timedelta(minutes=current_app.config["PASSWORD_RESET_MINUTES"])


#: What an invitation says the account is for.
_ROLE_PURPOSE = {
    Role.GRADUATE: _l("to follow your job guarantee"),
    Role.EMPLOYER: _l("to confirm the hires of our graduates"),
    Role.FINANCE: _l("for finance: claims and refunds"),
    Role.REGISTRAR: _l("for the registrar: records and imports"),
    Role.ADMIN: _l("to administer accounts and read the audit log"),
}


def _invitation_email(session: Session, user: User, actor: str) -> Email:
    token = issue_link(session, user, LinkPurpose.INVITATION, _invitation_lifetime(), actor=actor)
    link = absolute_url("pages.set_password", token=token)
    message = render(
        "account_invitation",
        reader=user,
        name=user.name,
        purpose=_ROLE_PURPOSE[user.role],
        link=link,
        days=current_app.config["INVITATION_DAYS"],
    )
    return Email(user.email, message, link)


def _reset_email(session: Session, user: User, actor: str) -> Email:
    token = issue_link(session, user, LinkPurpose.PASSWORD_RESET, _reset_lifetime(), actor=actor)
    link = absolute_url("pages.set_password", token=token)
    message = render(
        "password_reset",
        reader=user,
        name=user.name,
        link=link,
        minutes=current_app.config["PASSWORD_RESET_MINUTES"],
    )
    return Email(user.email, message, link)


# -- Invitations -------------------------------------------------------------------------------


def invite_account(
    session: Session,
    principal: Principal,
    *,
    email: str,
    name: str,
    role: Role,
    student_id: int | None = None,
    employer_id: int | None = None,
) -> tuple[User, Email]:
    """Open an account without a password and the invitation that lets its owner choose one."""
    authorize(principal, Permission.MANAGE_ACCOUNTS)
    email = email.strip().lower()
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(_("an account with email %(email)s exists already", email=email), "email")
    _check_link(session, role, student_id, employer_id)
    user = User(
        email=email,
        name=name,
        role=role,
        password_hash=None,
        student_id=student_id,
        employer_id=employer_id,
    )
    session.add(user)
    session.flush()
    record(session, principal.actor, "account.invited", f"user:{user.id}", f"{role.value} {email}")
    return user, _invitation_email(session, user, principal.actor)


def send_access_link(session: Session, principal: Principal, user_id: int) -> tuple[User, Email]:
    """An admin sends an account its way in: the invitation again while it has no password,
    a password-reset link once it has one (the admin never learns the password)."""
    authorize(principal, Permission.MANAGE_ACCOUNTS)
    user = _account(session, user_id)
    if not user.active:
        raise Conflict(_("the account is disabled; enable it first"))
    if user.password_hash is None:
        email = _invitation_email(session, user, principal.actor)
        record(session, principal.actor, "account.invited", f"user:{user.id}", "again")
    else:
        email = _reset_email(session, user, principal.actor)
        record(session, principal.actor, "account.reset_sent", f"user:{user.id}")
    return user, email


@dataclass
class InvitationReport:
    """What ``invite_students`` did with each student asked for."""

    invited: list[User] = field(default_factory=list)
    #: (student id or email as asked, why nothing was sent)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    emails: list[Email] = field(default_factory=list)


def may_invite_students(principal: Principal) -> None:
    """Refuse (and audit) anyone but registrars and admins."""
    if not (principal.can(Permission.WRITE_RECORDS) or principal.can(Permission.MANAGE_ACCOUNTS)):
        authorize(principal, Permission.WRITE_RECORDS)  # refuses and audits


def invite_students(
    session: Session,
    principal: Principal,
    *,
    student_ids: Iterable[int] = (),
    emails: Iterable[str] = (),
) -> InvitationReport:
    """Invite students (by id or email) to graduate accounts: a registrar after an import, or
    an admin. A student without an account gets one, with no password, and an invitation; one
    whose account has no password yet gets the invitation again; one who has chosen a password
    is skipped (they can reset it themselves)."""
    may_invite_students(principal)
    report = InvitationReport()
    wanted: list[tuple[str, Student | None]] = [
        (str(student_id), session.get(Student, student_id)) for student_id in student_ids
    ]
    for email in emails:
        address = email.strip().lower()
        wanted.append((email, session.scalar(select(Student).where(Student.email == address))))
    seen: set[int] = set()
    for asked, student in wanted:
        if student is None:
            report.skipped.append((asked, _("no such student")))
            continue
        if student.id in seen:
            continue
        seen.add(student.id)
        _invite_student(session, principal, student, asked, report)
    return report


def _invite_student(
    session: Session, principal: Principal, student: Student, asked: str, report: InvitationReport
) -> None:
    if student.erased_at is not None:
        report.skipped.append((asked, _("the student's personal data was erased")))
        return
    user = session.scalar(select(User).where(User.student_id == student.id))
    if user is None:
        if session.scalar(select(User.id).where(User.email == student.email)) is not None:
            report.skipped.append((asked, _("another account uses the student's email")))
            return
        user = User(
            email=student.email,
            name=student.name,
            role=Role.GRADUATE,
            password_hash=None,
            student_id=student.id,
        )
        session.add(user)
        session.flush()
        record(
            session, principal.actor, "account.invited", f"user:{user.id}", f"graduate {user.email}"
        )
    elif user.password_hash is not None:
        report.skipped.append((asked, _("has an account with a password already")))
        return
    elif not user.active:
        report.skipped.append((asked, _("the account is disabled")))
        return
    else:
        record(session, principal.actor, "account.invited", f"user:{user.id}", "again")
    report.invited.append(user)
    report.emails.append(_invitation_email(session, user, principal.actor))


# -- Links a person opens ------------------------------------------------------------------------

#: The links that let their holder choose a password.
PASSWORD_LINKS = frozenset({LinkPurpose.INVITATION, LinkPurpose.PASSWORD_RESET})


def password_link(session: Session, token: str) -> AccountLink:
    """The invitation or reset link ``token`` opens (``LinkRefused`` when it does not)."""
    return live_link(session, token, PASSWORD_LINKS)


def choose_password(session: Session, token: str, password: str) -> User:
    """Set the password through an invitation or reset link, which is spent; every session of
    the account ends (whoever had it is signed out)."""
    link = password_link(session, token)
    user = link.user
    problems = password_problems(password, email=user.email, name=user.name)
    if problems:
        raise Invalid({"password": problems})
    user.password_hash = hash_password(password)
    spend(link)
    end_all_sessions(session, user.id, "password reset")
    action = (
        "account.invitation_accepted"
        if link.purpose is LinkPurpose.INVITATION
        else "account.password_reset"
    )
    record(session, user.actor, action, f"user:{user.id}")
    session.flush()
    return user


def forgot_password(session: Session, email: str) -> list[Email]:
    """The reset email for ``email``'s account: none when there is no such active account, and
    the caller answers the same either way (nobody learns which addresses have accounts)."""
    email = email.strip().lower()
    user = session.scalar(select(User).where(User.email == email))
    record(session, "anonymous", "password.reset_asked", f"email:{email}")
    if user is None or not user.active:
        return []
    if user.password_hash is None:
        return [_invitation_email(session, user, "anonymous")]
    return [_reset_email(session, user, "anonymous")]


# -- One's own account -------------------------------------------------------------------------


def _own(session: Session, principal: Principal) -> User:
    if not principal.authenticated or principal.user_id is None:
        raise NotSignedIn()
    return _account(session, principal.user_id)


def _check_current_password(user: User, password: str) -> None:
    if not verify_password(user.password_hash, password or ""):
        raise Invalid.field("current_password", _("that is not your current password"))


def change_own_password(
    session: Session,
    principal: Principal,
    *,
    current_password: str,
    new_password: str,
    keep_session: str,
) -> User:
    """Change one's own password (the current one is required); one's other sessions end."""
    from app.auth.sessions import end_other_sessions

    user = _own(session, principal)
    _check_current_password(user, current_password)
    problems = password_problems(new_password, email=user.email, name=user.name)
    if problems:
        raise Invalid({"new_password": problems})
    user.password_hash = hash_password(new_password)
    end_other_sessions(session, user.id, keep_session, "password changed")
    record(session, user.actor, "account.password_changed", f"user:{user.id}")
    session.flush()
    return user


def ask_email_change(
    session: Session, principal: Principal, *, new_email: str, current_password: str
) -> Email:
    """Start changing one's email: the password is required, and the new address must confirm
    through the link sent to it before the account uses it."""
    user = _own(session, principal)
    _check_current_password(user, current_password)
    new_email = new_email.strip().lower()
    if new_email == user.email:
        raise Invalid.field("new_email", _("that is your email already"))
    if session.scalar(select(User.id).where(User.email == new_email)) is not None:
        raise Conflict(_("another account uses that email"), "new_email")
    token = issue_link(
        session,
        user,
        LinkPurpose.EMAIL_CHANGE,
        _reset_lifetime(),
        actor=user.actor,
        new_email=new_email,
    )
    record(session, user.actor, "account.email_change_asked", f"user:{user.id}", new_email)
    link = absolute_url("pages.confirm_email", token=token)
    message = render(
        "email_change",
        reader=user,
        name=user.name,
        link=link,
        minutes=current_app.config["PASSWORD_RESET_MINUTES"],
    )
    return Email(new_email, message, link)


def confirm_email_change(session: Session, token: str) -> User:
    """Switch the account to the address the link was sent to; the link is spent."""
    link = live_link(session, token, frozenset({LinkPurpose.EMAIL_CHANGE}))
    user = link.user
    if session.scalar(select(User.id).where(User.email == link.new_email)) is not None:
        spend(link)
        raise Conflict(_("another account uses that email now"), "new_email")
    before = user.email
    user.email = link.new_email
    spend(link)
    end_all_sessions(session, user.id, "email changed")
    record(
        session, user.actor, "account.email_changed", f"user:{user.id}", f"{before} -> {user.email}"
    )
    session.flush()
    return user


def turn_on_second_factor(session: Session, user: User, secret: str, code: str) -> list[str]:
    """Turn the second factor on once the first code from the app matches; the recovery codes,
    shown once."""
    if second_factor.matching_counter(secret, code, utc_now(), None) is None:
        raise Invalid.field(
            "code", _("that code does not match; check the app's clock and try the next code")
        )
    codes = second_factor.turn_on(session, user, secret)
    second_factor.check_code(user, code)  # the enrolment code is spent: it cannot sign in again
    record(session, user.actor, "account.second_factor_on", f"user:{user.id}")
    session.flush()
    return codes


def turn_off_second_factor(
    session: Session, principal: Principal, *, current_password: str
) -> User:
    """Turn one's optional second factor off (the password is required); refused for finance
    and admins, who must keep it."""
    user = _own(session, principal)
    if second_factor.required(user):
        raise Conflict(_("your role must keep a second factor"), "current_password")
    _check_current_password(user, current_password)
    second_factor.turn_off(session, user)
    record(session, user.actor, "account.second_factor_off", f"user:{user.id}")
    session.flush()
    return user


def renew_recovery_codes(
    session: Session, principal: Principal, *, current_password: str
) -> list[str]:
    """New recovery codes (the old ones stop working); the password is required."""
    user = _own(session, principal)
    if not second_factor.enabled(user):
        raise Conflict(_("turn the second factor on first"), "current_password")
    _check_current_password(user, current_password)
    codes = second_factor.new_recovery_codes(session, user)
    record(session, user.actor, "account.recovery_codes_renewed", f"user:{user.id}")
    return codes

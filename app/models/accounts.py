"""People who sign in, their sessions, the API tokens of integrations, and the audit log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, CreatedAt, UTCDateTime, enum_column, utc_now
from app.models.people import Employer, Student


class Role(StrEnum):
    """What a person (or an integration's token) may do; one role per account."""

    GRADUATE = "graduate"
    EMPLOYER = "employer"
    FINANCE = "finance"
    REGISTRAR = "registrar"
    ADMIN = "admin"


class User(CreatedAt, Base):
    """An account: a graduate, an employer contact, or a member of staff."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lower_case"),
        # A graduate account belongs to a student, an employer account to an employer.
        CheckConstraint(
            "(role = 'graduate') = (student_id IS NOT NULL)", name="graduate_has_student"
        ),
        CheckConstraint(
            "(role = 'employer') = (employer_id IS NOT NULL)", name="employer_has_employer"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Sign-in name, lower case, unique.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    #: Name shown in the pages and the audit log.
    name: Mapped[str] = mapped_column(String(200))
    #: What the account may do.
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    #: argon2id hash of the password; never the password itself. NULL for an account that was
    #: invited and has not chosen a password yet (it cannot sign in).
    password_hash: Mapped[str | None] = mapped_column(String(200))
    #: The student a graduate account belongs to.
    student_id: Mapped[int | None] = mapped_column(ForeignKey("students.id"), unique=True)
    #: The employer an employer contact speaks for.
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employers.id"), index=True)
    #: A disabled account cannot sign in and its sessions are ended.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Last successful sign-in (UTC).
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The locale the person chose (``fr_CA`` ...); NULL: their browser's, else the school's.
    locale: Mapped[str | None] = mapped_column(String(10))
    #: The locale the person's browser asked for when they last signed in: what their emails
    #: are written in while they have chosen none. NULL: never signed in, or asked for none.
    browser_locale: Mapped[str | None] = mapped_column(String(10))
    #: The IANA time zone the person reads times in; NULL: their country's, else the school's.
    time_zone: Mapped[str | None] = mapped_column(String(64))
    #: The shared secret of the authenticator app, once the second factor is on, sealed under
    #: ``DATA_ENCRYPTION_KEYS`` (a Fernet token; ``app.auth.sealing``): never the secret itself.
    sealed_totp_secret: Mapped[str | None] = mapped_column(Text)
    #: When the second factor was turned on (UTC); NULL while it is off.
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The last 30-second step whose code was accepted: a code is never accepted twice.
    totp_last_counter: Mapped[int | None] = mapped_column(BigInteger)

    student: Mapped[Student | None] = relationship()
    employer: Mapped[Employer | None] = relationship()

    @property
    def actor(self) -> str:
        """How this person is named in audit records."""
        return f"{self.role.value}:{self.email}"


class UserSession(Base):
    """One signed-in session. The cookie carries only its random id; ending the row ends it."""

    __tablename__ = "user_sessions"

    #: Random, unguessable id (the cookie's value); a new one at every sign-in.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: The account signed in.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: When it began (UTC): the absolute timeout counts from here.
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    #: Last request (UTC): the idle timeout counts from here.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    #: When it ended (sign-out, timeout, account disabled); NULL while it lives.
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Why it ended.
    end_reason: Mapped[str | None] = mapped_column(String(100))

    user: Mapped[User] = relationship()


class ApiToken(CreatedAt, Base):
    """A token sent as ``Authorization: Bearer``; stored only as a hash.

    It belongs to one account and acts as it: the account's role, its name in the audit trail
    and in claim approvals. It dies with the account (disabled, role changed) and expires.
    """

    __tablename__ = "api_tokens"
    __table_args__ = (
        # Tokens from before tokens had owners were revoked; every live one has an owner and an
        # expiry.
        CheckConstraint(
            "revoked_at IS NOT NULL OR (user_id IS NOT NULL AND expires_at IS NOT NULL)",
            name="live_token_has_owner_and_expiry",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What the token is for ("student information system sync").
    name: Mapped[str] = mapped_column(String(200))
    #: The account the token acts as.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: The owner's role when the token was made (never graduate or employer); a token whose
    #: account has another role since is refused.
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    #: SHA-256 of the token; the token itself is shown once, at creation.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: First characters of the token, to recognise it in lists.
    prefix: Mapped[str] = mapped_column(String(16))
    #: Who created it: its owner (older tokens: the admin who made them).
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The token is refused from this instant on (UTC); set at creation.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When it was revoked (UTC); a revoked token is refused.
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Last use (UTC).
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])

    @property
    def actor(self) -> str:
        """How the audit trail names what the token does: as its account."""
        if self.user is not None:
            return self.user.actor
        return f"token:{self.prefix}:{self.name}"


class AuditEvent(Base):
    """Something that happened, by whom: sign-ins, refusals, changes. Never updated or deleted."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: When (UTC).
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, index=True)
    #: Who: ``role:email`` of a person, ``token:...`` of an integration, ``anonymous``, or
    #: ``system:<job>``.
    actor: Mapped[str] = mapped_column(String(300))
    #: What, as a dotted verb: ``sign_in``, ``sign_in.failed``, ``access.refused``,
    #: ``claim.approved``, ``hire.confirmed`` ...
    action: Mapped[str] = mapped_column(String(100), index=True)
    #: What it was done to, e.g. ``claim:12``.
    target: Mapped[str | None] = mapped_column(String(200))
    #: Details a reviewer needs.
    detail: Mapped[str | None] = mapped_column(Text)
    #: The client's address, for sign-ins and refusals.
    ip_address: Mapped[str | None] = mapped_column(String(64))


class LinkPurpose(StrEnum):
    """What an emailed account link lets its holder do, once."""

    INVITATION = "invitation"  # choose the first password of an account
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a purpose, not a password
    EMAIL_CHANGE = "email_change"  # confirm a new email address


class AccountLink(CreatedAt, Base):
    """A single-use, expiring link sent by email; only a hash of its token is stored."""

    __tablename__ = "account_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The account the link acts on.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: What the link is for.
    purpose: Mapped[LinkPurpose] = mapped_column(enum_column(LinkPurpose, "link_purpose"))
    #: SHA-256 of the token in the link; the token itself is only in the email.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The address to switch to (email changes only).
    new_email: Mapped[str | None] = mapped_column(String(254))
    #: The link is refused from this instant on (UTC).
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: When it was used, or replaced by a newer link of the same purpose (UTC); then refused.
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Who sent it (audit actor).
    created_by: Mapped[str] = mapped_column(String(300))

    user: Mapped[User] = relationship()


class RecoveryCode(CreatedAt, Base):
    """A one-time code that replaces the authenticator app's code once (a lost phone)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Whose code it is.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: SHA-256 of the code; the code itself is shown once, when made.
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: When it was used (UTC); a used code is refused.
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

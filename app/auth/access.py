"""Who may do what: roles, their permissions, and the principal behind a request.

Views check the permission their action needs; services check what depends on the record
(a graduate's own graduation, an employer's own hires). Both go through ``authorize``, which
writes every refusal to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.models import Role


class Permission(StrEnum):
    """One thing a role may do."""

    READ_RECORDS = "read_records"  # programmes, people, enrollments, payments, graduations, jobs
    WRITE_RECORDS = "write_records"  # record and import them (registrars)
    READ_CLAIMS = "read_claims"  # the claims queue, amounts, refunds, audit trails
    DECIDE_CLAIMS = "decide_claims"  # approve, reject, review, withdraw, retry, settle
    OWN_GUARANTEE = "own_guarantee"  # a graduate's own window, jobs and claim
    CONFIRM_HIRES = "confirm_hires"  # an employer's own pending confirmations
    MANAGE_ACCOUNTS = "manage_accounts"  # accounts, roles and API tokens
    READ_AUDIT = "read_audit"  # the audit log
    READ_REPORTS = "read_reports"  # the outcomes report, its drill-down and CSV exports


#: The one table of who may do what.
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.GRADUATE: frozenset({Permission.OWN_GUARANTEE}),
    Role.EMPLOYER: frozenset({Permission.CONFIRM_HIRES}),
    Role.FINANCE: frozenset(
        {
            Permission.READ_RECORDS,
            Permission.READ_CLAIMS,
            Permission.DECIDE_CLAIMS,
            Permission.READ_REPORTS,
        }
    ),
    Role.REGISTRAR: frozenset(
        {Permission.READ_RECORDS, Permission.WRITE_RECORDS, Permission.READ_REPORTS}
    ),
    Role.ADMIN: frozenset(
        {Permission.MANAGE_ACCOUNTS, Permission.READ_AUDIT, Permission.READ_REPORTS}
    ),
}

#: Roles an API token may carry: integrations act as staff, never as a person's own account.
TOKEN_ROLES = frozenset({Role.FINANCE, Role.REGISTRAR, Role.ADMIN})


@dataclass(frozen=True)
class Principal:
    """Whoever is behind the request: a person, an integration's token, or nobody."""

    actor: str
    role: Role | None = None
    user_id: int | None = None
    student_id: int | None = None
    employer_id: int | None = None
    name: str = ""

    @property
    def authenticated(self) -> bool:
        return self.role is not None

    def can(self, permission: Permission) -> bool:
        return self.role is not None and permission in ROLE_PERMISSIONS[self.role]


ANONYMOUS = Principal(actor="anonymous")


class NotSignedIn(Exception):
    """The request needs someone signed in (401 for the API, the sign-in page for pages)."""


class Forbidden(Exception):
    """The principal may not do this (403); the refusal is in the audit log."""

    def __init__(self, principal: Principal, what: str):
        super().__init__(f"{principal.actor} may not {what}")
        self.principal = principal
        self.what = what


def authorize(principal: Principal, permission: Permission, *, target: str | None = None) -> None:
    """Refuse unless ``principal`` holds ``permission``."""
    if not principal.authenticated:
        raise NotSignedIn()
    if not principal.can(permission):
        refuse(principal, permission.value, target)


def refuse(principal: Principal, what: str, target: str | None = None):
    """Record the refusal in the audit log (in its own transaction) and raise ``Forbidden``."""
    from app.audit import record_now

    record_now(principal.actor, "access.refused", target, what)
    raise Forbidden(principal, what)

"""What the staff pages list: pages of records with their totals, counts and recent activity.

Read-only queries shaped for people reading a screen; nothing here changes a record. Rules are
not re-implemented: a graduation's status comes from ``evaluate_guarantee``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from math import ceil
from typing import Generic, TypeVar

from sqlalchemy import BigInteger, Select, cast, false, func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from app.models import (
    ApiToken,
    AuditEvent,
    Employer,
    Enrollment,
    Graduation,
    Programme,
    Student,
    TuitionPayment,
    User,
)
from app.services.guarantee import GuaranteeView, evaluate_guarantee
from app.services.records import MAX_ID

Row = TypeVar("Row")

#: Rows per page of a list.
PAGE_SIZE = 25


@dataclass(frozen=True)
class Page(Generic[Row]):
    """One page of a longer list."""

    items: list[Row]
    #: 1 for the first page.
    number: int
    size: int
    #: Rows in the whole list.
    total: int

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def _count(session: Session, statement: Select) -> int:
    return session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))


def _of_programme(statement: Select, programme_id: int | None) -> Select:
    """``statement`` narrowed to one programme's enrollments; an id no key can hold has none."""
    if programme_id is None:
        return statement
    if not 0 < programme_id <= MAX_ID:
        return statement.where(false())
    return statement.where(Enrollment.programme_id == programme_id)


def _page(session: Session, statement: Select, number: int, size: int, *, rows: bool = False):
    """Page ``number`` of ``statement``; a number past the last page shows the last one (a huge
    number would otherwise be an offset the database cannot hold)."""
    total = _count(session, statement)
    number = min(max(1, number), max(1, ceil(total / size)))
    limited = statement.limit(size).offset((number - 1) * size)
    items = list(session.execute(limited) if rows else session.scalars(limited))
    return Page(items=items, number=number, size=size, total=total)


# -- The registrar's records -------------------------------------------------------------------


def record_counts(session: Session) -> dict[str, int]:
    """How many of each record the school holds, by a name for people."""
    models = {
        "programmes": Programme,
        "students": Student,
        "enrollments": Enrollment,
        "payments": TuitionPayment,
        "graduations": Graduation,
    }
    return {
        name: session.scalar(select(func.count()).select_from(model))
        for name, model in models.items()
    }


@dataclass(frozen=True)
class Activity:
    """A record written recently: its kind (``enrollment``, ``payment`` ...) and the record."""

    at: datetime
    kind: str
    record: object


def recent_activity(session: Session, limit: int = 10) -> list[Activity]:
    """The records written last, newest first, whatever their kind (API, pages or import)."""
    sources = {
        "programme": select(Programme),
        "student": select(Student),
        "enrollment": select(Enrollment).options(
            joinedload(Enrollment.student), joinedload(Enrollment.programme)
        ),
        "payment": select(TuitionPayment).options(
            joinedload(TuitionPayment.enrollment).joinedload(Enrollment.student)
        ),
        "graduation": select(Graduation).options(
            joinedload(Graduation.enrollment).joinedload(Enrollment.student),
            joinedload(Graduation.enrollment).joinedload(Enrollment.programme),
        ),
    }
    activity = []
    for kind, statement in sources.items():
        model = statement.column_descriptions[0]["entity"]
        newest = statement.order_by(model.created_at.desc(), model.id.desc()).limit(limit)
        activity.extend(Activity(row.created_at, kind, row) for row in session.scalars(newest))
    activity.sort(key=lambda item: item.at, reverse=True)
    return activity[:limit]


def programmes_with_policies(session: Session) -> list[Programme]:
    """Every programme by name, each with its policy versions loaded (oldest first)."""
    return list(
        session.scalars(
            select(Programme)
            .options(selectinload(Programme.policies))
            .order_by(Programme.name, Programme.id)
        )
    )


def student_with_email(session: Session, email: str) -> Student | None:
    """The student with ``email`` (compared in lower case), if there is one."""
    return session.scalar(select(Student).where(Student.email == email.strip().lower()))


@dataclass(frozen=True)
class EnrollmentRow:
    """An enrollment with what has been paid for it."""

    enrollment: Enrollment
    paid_minor: int
    payments: int


def enrollments_page(
    session: Session, number: int, *, programme_id: int | None = None, size: int = PAGE_SIZE
) -> Page[EnrollmentRow]:
    """Enrollments, newest signed first, with their payment totals; optionally of one programme."""
    paid = (
        select(
            TuitionPayment.enrollment_id,
            # SUM of a bigint is a numeric on PostgreSQL; money stays an integer.
            cast(func.sum(TuitionPayment.amount_minor), BigInteger).label("paid_minor"),
            func.count().label("payments"),
        )
        .group_by(TuitionPayment.enrollment_id)
        .subquery()
    )
    statement = (
        select(
            Enrollment,
            func.coalesce(paid.c.paid_minor, 0),
            func.coalesce(paid.c.payments, 0),
        )
        .outerjoin(paid, paid.c.enrollment_id == Enrollment.id)
        .options(
            joinedload(Enrollment.student),
            joinedload(Enrollment.programme),
            joinedload(Enrollment.policy),
            joinedload(Enrollment.graduation),
        )
        .order_by(Enrollment.signed_on.desc(), Enrollment.id.desc())
    )
    statement = _of_programme(statement, programme_id)
    page = _page(session, statement, number, size, rows=True)
    return Page(
        items=[EnrollmentRow(row[0], int(row[1]), int(row[2])) for row in page.items],
        number=page.number,
        size=page.size,
        total=page.total,
    )


@dataclass(frozen=True)
class GraduationRow:
    """A graduation and its guarantee as the rule judges it today."""

    graduation: Graduation
    guarantee: GuaranteeView


def graduations_page(
    session: Session,
    number: int,
    *,
    as_of: date,
    programme_id: int | None = None,
    size: int = PAGE_SIZE,
) -> Page[GraduationRow]:
    """Graduations, latest qualified first, each with its guarantee status on ``as_of``."""
    statement = (
        select(Graduation)
        .join(Graduation.enrollment)
        .options(
            joinedload(Graduation.enrollment).joinedload(Enrollment.student),
            joinedload(Graduation.enrollment).joinedload(Enrollment.programme),
        )
        .order_by(Graduation.qualified_on.desc(), Graduation.id.desc())
    )
    statement = _of_programme(statement, programme_id)
    page = _page(session, statement, number, size)
    return Page(
        items=[
            GraduationRow(graduation, evaluate_guarantee(session, graduation.id, as_of))
            for graduation in page.items
        ],
        number=page.number,
        size=page.size,
        total=page.total,
    )


# -- Accounts, tokens and the audit log --------------------------------------------------------


def accounts_page(session: Session, number: int, size: int = 50) -> Page[User]:
    """Accounts by email."""
    return _page(session, select(User).order_by(User.email), number, size)


def api_tokens(session: Session) -> list[ApiToken]:
    """Every API token, newest first (revoked ones too: they explain old audit entries)."""
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id.desc())))


def employers(session: Session) -> list[Employer]:
    """Every employer by name, for choosing the one an employer account speaks for."""
    return list(session.scalars(select(Employer).order_by(Employer.name, Employer.id)))


def audit_page(
    session: Session,
    number: int,
    *,
    action_prefix: str = "",
    actor: str = "",
    size: int = 50,
) -> Page[AuditEvent]:
    """Audit events, newest first; ``action_prefix`` (``account.``) and part of the actor."""
    statement = select(AuditEvent).order_by(AuditEvent.id.desc())
    if action_prefix:
        statement = statement.where(AuditEvent.action.startswith(action_prefix, autoescape=True))
    if actor:
        statement = statement.where(
            func.lower(AuditEvent.actor).contains(actor.lower(), autoescape=True)
        )
    return _page(session, statement, number, size)

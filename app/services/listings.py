"""What the staff pages list: pages of records with their totals, counts and recent activity.

Read-only queries shaped for people reading a screen; nothing here changes a record. Rules are
not re-implemented: a graduation's status comes from ``app.guarantee.evaluation``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from math import ceil
from typing import Generic, TypeVar

from sqlalchemy import BigInteger, Select, cast, false, func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from app.guarantee.evaluation import guarantee_statuses
from app.guarantee.rules import GuaranteeStatus
from app.models import (
    ApiToken,
    AuditEvent,
    Employer,
    Enrollment,
    Graduation,
    Programme,
    Role,
    Student,
    TuitionPayment,
    User,
)
from app.services.records import MAX_ID
from app.services.text_search import matching

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


def _ordered(key, tiebreak, descending: bool) -> list:
    """``ORDER BY key, tiebreak`` ascending or descending. Rows without a ``key`` (no sign-in
    yet, no expected graduation) come last either way, on PostgreSQL and SQLite alike; a key
    that is never NULL is left as is, so a plain index on ``(key, tiebreak)`` serves the order
    both ways."""
    if descending:
        first = key.desc().nulls_last() if key.nullable else key.desc()
        return [first, tiebreak.desc()]
    return [key.asc().nulls_last() if key.nullable else key.asc(), tiebreak.asc()]


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


class EnrollmentSort(StrEnum):
    """What the enrollments list can be sorted by."""

    SIGNED = "signed"
    NAME = "name"
    EXPECTED_GRADUATION = "expected_graduation"


class EnrollmentStatus(StrEnum):
    """Where an enrollment stands, for the list's filter."""

    STUDYING = "studying"
    GRADUATED = "graduated"


@dataclass(frozen=True)
class EnrollmentQuery:
    """Which enrollments the list shows and in what order; every filter optional."""

    programme_id: int | None = None
    status: EnrollmentStatus | None = None
    #: Only those who opted in to the guarantee (True) or did not (False).
    opted_in: bool | None = None
    #: Part of the student's name or email, any case, accents or not.
    search: str = ""
    sort: EnrollmentSort = EnrollmentSort.SIGNED
    descending: bool = True


def enrollments_page(
    session: Session, number: int, query: EnrollmentQuery | None = None, *, size: int = PAGE_SIZE
) -> Page[EnrollmentRow]:
    """The enrollments ``query`` selects, in its order, with their payment totals.

    Four statements whatever the page: the count; the page's ids, read from the index that
    serves the order (``(signed_on, id)`` by default) so a deep OFFSET skips index entries, not
    joined rows; those enrollments with student, programme, policy and graduation; and the
    payments of those enrollments only, not an aggregate over every payment of the school.
    """
    query = query or EnrollmentQuery()
    ids = _enrollment_ids(query)
    total = _count(session, ids)
    number = min(max(1, number), max(1, ceil(total / size)))
    page_ids = list(session.scalars(ids.limit(size).offset((number - 1) * size)))
    loaded = {
        enrollment.id: enrollment
        for enrollment in session.scalars(
            select(Enrollment)
            .where(Enrollment.id.in_(page_ids))
            .options(
                joinedload(Enrollment.student),
                joinedload(Enrollment.programme),
                joinedload(Enrollment.policy),
                joinedload(Enrollment.graduation),
            )
        ).unique()
    }
    paid = _paid_by_enrollment(session, page_ids)
    return Page(
        items=[
            EnrollmentRow(loaded[enrollment_id], *paid.get(enrollment_id, (0, 0)))
            for enrollment_id in page_ids
        ],
        number=number,
        size=size,
        total=total,
    )


def _enrollment_ids(query: EnrollmentQuery) -> Select:
    """The ids of the enrollments ``query`` selects, in its order; joined to the student and
    the graduation only when a filter or the order needs them."""
    statement = select(Enrollment.id)
    if query.search.strip() or query.sort is EnrollmentSort.NAME:
        statement = statement.join(Student, Student.id == Enrollment.student_id)
    if query.search.strip():
        statement = statement.where(matching(query.search, Student.name, Student.email))
    statement = _of_programme(statement, query.programme_id)
    if query.status is not None:
        graduated = select(Graduation.id).where(Graduation.enrollment_id == Enrollment.id)
        statement = statement.where(
            graduated.exists()
            if query.status is EnrollmentStatus.GRADUATED
            else ~graduated.exists()
        )
    if query.opted_in is not None:
        statement = statement.where(Enrollment.guarantee_opt_in.is_(query.opted_in))
    key = {
        EnrollmentSort.SIGNED: Enrollment.signed_on,
        EnrollmentSort.NAME: Student.name,
        EnrollmentSort.EXPECTED_GRADUATION: Enrollment.expected_graduation_on,
    }[query.sort]
    return statement.order_by(*_ordered(key, Enrollment.id, query.descending))


def _paid_by_enrollment(session: Session, ids: list[int]) -> dict[int, tuple[int, int]]:
    """``{enrollment id: (paid in minor units, number of payments)}`` for ``ids``."""
    if not ids:
        return {}
    rows = session.execute(
        select(
            TuitionPayment.enrollment_id,
            # SUM of a bigint is a numeric on PostgreSQL; money stays an integer.
            cast(func.sum(TuitionPayment.amount_minor), BigInteger),
            func.count(),
        )
        .where(TuitionPayment.enrollment_id.in_(ids))
        .group_by(TuitionPayment.enrollment_id)
    )
    return {enrollment_id: (int(paid), int(count)) for enrollment_id, paid, count in rows}


@dataclass(frozen=True)
class GraduationRow:
    """A graduation and its guarantee status as the rule judges it today."""

    graduation: Graduation
    status: GuaranteeStatus


def graduations_page(
    session: Session,
    number: int,
    *,
    as_of: date,
    programme_id: int | None = None,
    size: int = PAGE_SIZE,
) -> Page[GraduationRow]:
    """Graduations, latest qualified first, each with its guarantee status on ``as_of``: the
    statuses of the page read together (``guarantee_statuses``), not one graduation at a
    time."""
    statement = (
        select(Graduation)
        .join(Graduation.enrollment)
        .options(
            joinedload(Graduation.enrollment).joinedload(Enrollment.student),
            joinedload(Graduation.enrollment).joinedload(Enrollment.programme),
            joinedload(Graduation.enrollment).joinedload(Enrollment.policy),
        )
        .order_by(Graduation.qualified_on.desc(), Graduation.id.desc())
    )
    statement = _of_programme(statement, programme_id)
    page = _page(session, statement, number, size)
    statuses = guarantee_statuses(session, page.items, as_of)
    return Page(
        items=[GraduationRow(graduation, statuses[graduation.id]) for graduation in page.items],
        number=page.number,
        size=page.size,
        total=page.total,
    )


# -- Accounts, tokens and the audit log --------------------------------------------------------


class AccountSort(StrEnum):
    """What the accounts list can be sorted by."""

    EMAIL = "email"
    NAME = "name"
    ROLE = "role"
    LAST_SIGN_IN = "last_sign_in"


@dataclass(frozen=True)
class AccountQuery:
    """Which accounts the list shows and in what order; every filter optional."""

    role: Role | None = None
    active: bool | None = None
    #: Part of the account's name or email, any case, accents or not.
    search: str = ""
    sort: AccountSort = AccountSort.EMAIL
    descending: bool = False


def accounts_page(
    session: Session, number: int, query: AccountQuery | None = None, size: int = 50
) -> Page[User]:
    """The accounts ``query`` selects, in its order, each with its student or employer loaded
    in the same statement (the list names them)."""
    query = query or AccountQuery()
    statement = select(User).options(joinedload(User.student), joinedload(User.employer))
    if query.role is not None:
        statement = statement.where(User.role == query.role)
    if query.active is not None:
        statement = statement.where(User.active.is_(query.active))
    if query.search.strip():
        statement = statement.where(matching(query.search, User.name, User.email))
    key = {
        AccountSort.EMAIL: User.email,
        AccountSort.NAME: User.name,
        AccountSort.ROLE: User.role,
        AccountSort.LAST_SIGN_IN: User.last_sign_in_at,
    }[query.sort]
    statement = statement.order_by(*_ordered(key, User.id, query.descending))
    return _page(session, statement, number, size)


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

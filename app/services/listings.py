"""What the staff pages list: pages of records with their totals, counts and recent activity.

Read-only queries shaped for people reading a screen; nothing here changes a record. Rules are
not re-implemented: a graduation's status comes from ``app.guarantee.evaluation``.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from math import ceil
from typing import Generic, TypeVar

from sqlalchemy import BigInteger, Select, cast, false, func, select, tuple_
from sqlalchemy.orm import Session, joinedload, selectinload

from app.guarantee.evaluation import guarantee_statuses
from app.guarantee.rules import GuaranteeStatus
from app.guarantee.terms import EnrollmentStatus
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
    #: On a list paged by key: the next page's ``after`` and the previous page's ``before``
    #: (each page's link seeks to its first row instead of counting the rows before it).
    next_after: str | None = None
    previous_before: str | None = None

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
    session: Session,
    number: int,
    query: EnrollmentQuery | None = None,
    *,
    size: int = PAGE_SIZE,
    after: str | None = None,
    before: str | None = None,
) -> Page[EnrollmentRow]:
    """The enrollments ``query`` selects, in its order, with their payment totals.

    Four statements whatever the page: the count (without the join the order alone needs);
    the page's ids; those enrollments with student, programme, policy and graduation; and the
    payments of those enrollments only, not an aggregate over every payment of the school.

    The page's ids are found by key when the link followed carries one: ``after`` (the next
    page starts after the previous page's last row) or ``before`` (the previous page ends
    before the next page's first row). That is a seek on the order's index, so page 8,000 costs
    what page 1 does. A page asked for by number alone (typed, or a cursor that no longer fits
    the rows) skips ``(number - 1) * size`` entries of the order's index instead.
    """
    query = query or EnrollmentQuery()
    ids = _enrollment_ids(query)
    total = _count(session, _enrollment_ids(query, ordered=False))
    number = min(max(1, number), max(1, ceil(total / size)))
    expected = min(size, total - (number - 1) * size)
    page_ids = _seek_ids(session, query, number, size, after=after, before=before)
    if page_ids is None or len(page_ids) != expected:
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
    items = [
        EnrollmentRow(loaded[enrollment_id], *paid.get(enrollment_id, (0, 0)))
        for enrollment_id in page_ids
    ]
    page = Page(items=items, number=number, size=size, total=total)
    if not items:
        return page
    return Page(
        items=items,
        number=number,
        size=size,
        total=total,
        next_after=_cursor(number + 1, query, items[-1].enrollment) if page.has_next else None,
        previous_before=(
            _cursor(number - 1, query, items[0].enrollment) if page.has_previous else None
        ),
    )


def _sort_key(query: EnrollmentQuery):
    """The column the list is sorted by (then by the enrollment's id, in the same direction)."""
    return {
        EnrollmentSort.SIGNED: Enrollment.signed_on,
        EnrollmentSort.NAME: Student.name,
        EnrollmentSort.EXPECTED_GRADUATION: Enrollment.expected_graduation_on,
    }[query.sort]


def _key_of(query: EnrollmentQuery, enrollment: Enrollment):
    return {
        EnrollmentSort.SIGNED: lambda: enrollment.signed_on,
        EnrollmentSort.NAME: lambda: enrollment.student.name,
        EnrollmentSort.EXPECTED_GRADUATION: lambda: enrollment.expected_graduation_on,
    }[query.sort]()


def _cursor(number: int, query: EnrollmentQuery, enrollment: Enrollment) -> str:
    """Page ``number``'s link: its number, the list's sort, and the key of the row it follows
    (or precedes)."""
    key = _key_of(query, enrollment)
    text = json.dumps(
        [number, query.sort.value, query.descending, _plain(key), enrollment.id],
        separators=(",", ":"),
    )
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


def _decoded(cursor: str, number: int, query: EnrollmentQuery) -> tuple | None:
    """The key and id a cursor names for page ``number`` of ``query``'s order; None when it
    names another page or another order, or is not a cursor (the page is then found by
    number)."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        page, sort, descending, key, enrollment_id = json.loads(text)
        if (page, sort, descending) != (number, query.sort.value, query.descending):
            return None
        if not (isinstance(enrollment_id, int) and 0 < enrollment_id <= MAX_ID):
            return None
        if query.sort is EnrollmentSort.NAME:
            return (key, enrollment_id) if isinstance(key, str) else None
        if key is None and query.sort is EnrollmentSort.EXPECTED_GRADUATION:
            return None, enrollment_id
        return date.fromisoformat(key), enrollment_id
    except (binascii.Error, UnicodeError, ValueError, TypeError):
        return None


def _seek_ids(
    session: Session,
    query: EnrollmentQuery,
    number: int,
    size: int,
    *,
    after: str | None,
    before: str | None,
) -> list[int] | None:
    """The ids of page ``number`` found from the key of the row before it (``after``) or after
    it (``before``); None without a usable cursor.

    The order is ``key, id`` (both ascending or both descending), rows without a key last.
    Among the rows with a key, ``(key, id) > (k, i)`` (``<`` descending) is a range of the
    order's index; the rows without one are read apart, by id, when the page reaches them.
    """
    seek = _decoded(after, number, query) if after else None
    forward = seek is not None
    if seek is None and before:
        seek = _decoded(before, number, query)
    if seek is None:
        return None
    key, tiebreak = _sort_key(query), Enrollment.id
    # Reading forward is reading the list's order; backward, the reverse of it.
    ascending = forward != query.descending
    unordered = _enrollment_ids(query, ordered=False)
    if query.sort is EnrollmentSort.NAME and not query.search.strip():
        unordered = unordered.join(Student, Student.id == Enrollment.student_id)

    k, i = seek
    in_order = [key.asc(), tiebreak.asc()] if ascending else [key.desc(), tiebreak.desc()]
    keyed = unordered.where(key.isnot(None)).order_by(*in_order)
    unkeyed = unordered.where(key.is_(None)).order_by(*in_order[1:])
    past = tiebreak > i if ascending else tiebreak < i
    # The segments in reading order: forward, the rows with a key, then those without.
    if k is None:
        segments = [unkeyed.where(past)] + ([] if forward else [keyed])
    else:
        row, at = tuple_(key, tiebreak), tuple_(k, i)
        # The row comparison is a range of the order's index; the key's own bound lets the
        # planner start the students' name index there too (the id is another table's).
        bound = key >= k if ascending else key <= k
        segments = [keyed.where(row > at if ascending else row < at, bound)]
        if forward and key.nullable:
            segments.append(unkeyed)
    found: list[int] = []
    for segment in segments:
        found += session.scalars(segment.limit(size - len(found)))
        if len(found) == size:
            break
    return found if forward else found[::-1]


def _enrollment_ids(query: EnrollmentQuery, *, ordered: bool = True) -> Select:
    """The ids of the enrollments ``query`` selects, in its order (``ordered``); joined to the
    student only when a filter or the order needs it."""
    statement = select(Enrollment.id)
    if query.search.strip() or (ordered and query.sort is EnrollmentSort.NAME):
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
    if not ordered:
        return statement
    return statement.order_by(*_ordered(_sort_key(query), Enrollment.id, query.descending))


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

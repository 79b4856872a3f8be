"""Who reads an email, so that it is written in their language and time zone.

``app.mail.render`` and ``send_templated`` take a ``reader``: an account (its chosen locale,
else the one its browser last asked for, else the school's; its time zone, else its country's)
or, for someone with no account, a ``Reader`` naming a locale and a time zone. These functions
find the reader of each kind of email from the records it is about.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from app.i18n import COUNTRY_TIMEZONES, locale_of, time_zone_of
from app.mail import Reader
from app.models import JobOutcome, Student, User


def graduate_reader(student: Student) -> User | Reader:
    """A graduate: their account; without one, the school's language and their country's time
    zone."""
    session = object_session(student)
    account = None
    if session is not None:
        account = session.scalar(select(User).where(User.student_id == student.id))
    if account is not None:
        return account
    return Reader(time_zone=COUNTRY_TIMEZONES.get(student.country))


def graduate_readers(session: Session, students: Iterable[Student]) -> dict[int, User | Reader]:
    """``graduate_reader`` of each of ``students`` (a batch job's many), by student id: their
    accounts read in one query."""
    students = list(students)
    if not students:
        return {}
    accounts = {
        account.student_id: account
        for account in session.scalars(
            select(User).where(User.student_id.in_([student.id for student in students]))
        )
    }
    return {
        student.id: accounts.get(student.id)
        or Reader(time_zone=COUNTRY_TIMEZONES.get(student.country))
        for student in students
    }


def employer_reader(outcome: JobOutcome, sent_to: str | None = None) -> User | Reader:
    """The employer's contact asked about ``outcome`` (the address ``sent_to``, by default the
    employer's contact).

    An employer's contact usually has no account: the link in the email is all they need. So:

    1. the account of that address, when it is one of the employer's accounts (their own
       choice, or what their browser asked for when they last signed in); else
    2. the language and time zone of the graduate who named the employer: they share the job's
       country, and the graduate wrote the job's title in the language they read, so the email
       reads as one piece; else (the graduate chose nothing either)
    3. the school's language and time zone.
    """
    address = (sent_to or outcome.employer.contact_email).lower()
    session = object_session(outcome)
    if session is not None:
        account = session.scalar(
            select(User).where(User.employer_id == outcome.employer_id, User.email == address)
        )
        if account is not None:
            return account
    graduate = graduate_reader(outcome.graduation.enrollment.student)
    return Reader(locale=locale_of(graduate), time_zone=time_zone_of(graduate))


def shared_reader(session: Session, addresses: Iterable[str]) -> User | Reader:
    """Several people reading one email (finance's digest, addressed to every finance account):
    the first account, when all of them read the same language; else the school's."""
    accounts = session.scalars(
        select(User).where(User.email.in_(list(addresses))).order_by(User.email)
    ).all()
    if accounts and len({locale_of(account) for account in accounts}) == 1:
        return accounts[0]
    return Reader()

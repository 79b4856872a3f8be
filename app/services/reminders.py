"""Reminder emails, each sent once: graduates near their deadline or behind on their search,
finance on new claims, employers on hire confirmations they have not answered.

Every message is a ``SentMessage`` row under a unique ``dedupe_key`` that says what it is about
(``deadline:12:2027-03-01:7``). Each goes through three short steps:

1. Record it (one transaction): insert the row, ``pending``, with its first attempt counted,
   and commit. A second run, or one running beside this one, hits the unique key and skips it.
2. Hand it to the SMTP server (no transaction open).
3. Mark it ``sent``, or ``failed`` with the server's reason (one transaction).

A failed message is tried again by later runs, up to ``MAX_ATTEMPTS`` attempts in all. A row
left ``pending`` (the process died between steps 1 and 3) is never sent again: the server may
have taken it, and a reminder is better missed than sent twice, so it is at most once.

Nothing here decides *when* a reminder is due: ``app.guarantee.reminders`` does. Runs must be
inside an application context (SMTP settings, ``BASE_URL``, the key that signs links).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import LazyString, get_locale
from sqlalchemy import and_, exists, func, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from app.auth.access import Permission, Principal, authorize
from app.database import among
from app.guarantee.obligations import WEEK, Compliance
from app.guarantee.reminders import (
    days_left_in_week,
    deadline_reminder_due,
    employer_reminder_due,
    week_to_warn_about,
)
from app.mail import MailNotSent, absolute_url, deliver, one_connection, render
from app.models import (
    AnnouncedClaim,
    Enrollment,
    Graduation,
    GuaranteePolicy,
    HireConfirmation,
    JobOutcome,
    MessageKind,
    MessageState,
    Role,
    SentMessage,
    Student,
    User,
)
from app.models.base import utc_now
from app.pages.formatting import money, words
from app.pages.sentences import said
from app.services.confirmations import LINK_LIFETIME, link_token
from app.services.falling_behind import warned_weeks
from app.services.readers import employer_reader, graduate_readers, shared_reader
from app.services.search import search_records
from config.settings import Settings
from refunds.models import RefundClaim
from refunds.states import ClaimState
from refunds.sweep import (
    earliest_open_qualification,
    in_window_closing_before,
    window_start_sql,
)

log = logging.getLogger(__name__)

#: Sending attempts a message gets in all, over as many runs, before it is left failed.
MAX_ATTEMPTS = 3

#: The kinds of message sent to the graduate themselves: what their page lists. Employer
#: reminders about them carry a link only the employer may use, so they are never shown; nor
#: are finance's digests.
GRADUATE_KINDS = (
    MessageKind.DEADLINE_APPROACHING,
    MessageKind.FALLING_BEHIND,
    # What became of their claim (``app.services.claim_notices``).
    MessageKind.CLAIM_OPENED,
    MessageKind.CLAIM_APPROVED,
    MessageKind.CLAIM_REJECTED,
    MessageKind.CLAIM_REFUNDED,
    MessageKind.CLAIM_SETTLED_MANUALLY,
    MessageKind.APPEAL_RECEIVED,
    MessageKind.APPEAL_DECIDED,
)

#: Sends one message (recipient, subject, text, ``html=``) or raises ``MailNotSent``:
#: ``app.mail.deliver`` unless a test says otherwise.
Sender = Callable[..., None]


@dataclass(frozen=True)
class Draft:
    """A message that is due, before it is recorded and sent."""

    kind: MessageKind
    dedupe_key: str
    recipient: str
    subject: str
    body: str
    #: The HTML part, rendered with the text from the same template.
    html: str | None
    graduation_id: int | None = None
    claim_id: int | None = None
    confirmation_id: str | None = None
    #: For an employer reminder: the confirmation's link works until then, from this reminder.
    link_expires_at: datetime | None = None
    #: For finance's digest: the claims it announces (each is announced once, ever).
    announces: tuple[int, ...] = ()


@dataclass
class ReminderResult:
    """What one run did, per kind of message."""

    as_of: date
    dry_run: bool = False
    #: New messages found due: recorded (or, on a dry run, that would be).
    due: Counter = field(default_factory=Counter)
    #: Messages the mail server accepted, retries included.
    sent: Counter = field(default_factory=Counter)
    #: Messages the mail server refused or could not be reached for, retries included.
    failed: Counter = field(default_factory=Counter)
    #: Earlier failures tried again (or, on a dry run, that would be).
    retried: Counter = field(default_factory=Counter)


def send_reminders(
    session_factory: sessionmaker,
    settings: Settings,
    as_of: date,
    now: datetime,
    *,
    dry_run: bool = False,
    send: Sender = deliver,
) -> ReminderResult:
    """Send every reminder due on ``as_of`` (graduates) or at ``now`` (employers), once each.

    First retries the messages that failed before (fewer than ``MAX_ATTEMPTS`` attempts, and
    for an employer reminder only while the confirmation is open), then finds the new ones.
    ``dry_run`` counts what would be sent and writes and sends nothing.
    """
    result = ReminderResult(as_of=as_of, dry_run=dry_run)
    retry_failed(session_factory, now, result, send, dry_run=dry_run)
    drafts = _due(session_factory, settings, as_of, now)
    if dry_run:
        result.due.update(draft.kind for draft in drafts)
    else:
        send_drafts(session_factory, drafts, now, result, send)
    return result


def send_drafts(session_factory: sessionmaker, drafts, now: datetime, result, send: Sender) -> None:
    """Record each draft under its key, then send it; a key recorded already is skipped (another
    run sent it, or is sending it), all through one SMTP connection. ``result`` counts what was
    due, sent and failed."""
    with one_connection():
        for draft in drafts:
            message_id = _record(session_factory, draft, now)
            if message_id is None:
                continue  # another run recorded it first
            result.due[draft.kind] += 1
            _deliver(session_factory, message_id, draft.kind, draft, result, send)


def retry_failed(
    session_factory: sessionmaker,
    now: datetime,
    result,
    send: Sender,
    *,
    kinds: tuple[MessageKind, ...] | None = None,
    dry_run: bool = False,
) -> None:
    """Send again the messages (of ``kinds``, or any) that failed fewer than ``MAX_ATTEMPTS``
    times; ``result.retried`` counts them."""
    with one_connection():
        for message_id, kind, attempts in _failed_to_retry(session_factory, now, kinds):
            if dry_run:
                result.retried[kind] += 1
            else:
                _retry(session_factory, message_id, attempts, result, send)


def messages_to_graduate(session: Session, principal: Principal) -> list[SentMessage]:
    """The reminders sent to the signed-in graduate, newest first: only their own."""
    authorize(principal, Permission.OWN_GUARANTEE)
    return list(
        session.scalars(
            select(SentMessage)
            .join(Graduation, Graduation.id == SentMessage.graduation_id)
            .join(Enrollment, Enrollment.id == Graduation.enrollment_id)
            .where(
                Enrollment.student_id == principal.student_id,
                SentMessage.kind.in_(GRADUATE_KINDS),
            )
            .order_by(SentMessage.created_at.desc(), SentMessage.id.desc())
        )
    )


# ---------------------------------------------------------------------------------------------
# Recording and sending
# ---------------------------------------------------------------------------------------------


def _record(session_factory: sessionmaker, draft: Draft, now: datetime) -> int | None:
    """Insert and commit the message's row; ``None`` when its key is taken already."""
    with session_factory() as session:
        message = SentMessage(
            kind=draft.kind,
            dedupe_key=draft.dedupe_key,
            recipient=draft.recipient,
            subject=draft.subject,
            body=draft.body,
            html=draft.html,
            graduation_id=draft.graduation_id,
            claim_id=draft.claim_id,
            confirmation_id=draft.confirmation_id,
            state=MessageState.PENDING,
            attempts=1,
            # The run's instant: the next employer reminder is timed from it.
            created_at=now,
        )
        try:
            with session.begin_nested():
                session.add(message)
                session.flush()
        except IntegrityError:
            session.rollback()
            if session.scalar(_key_taken(draft.dedupe_key)) is None:
                raise  # not the unique key: a real error
            return None
        if draft.link_expires_at is not None:
            _extend_link(session, draft.confirmation_id, draft.link_expires_at)
        if draft.announces and not _announce(session, message.id, draft.announces):
            return None  # another run announced one of these claims first
        session.commit()
        return message.id


def _announce(session: Session, message_id: int, claim_ids: tuple[int, ...]) -> bool:
    """Mark the claims as announced by the message; ``False`` (all undone) when one of them was
    announced by another run meanwhile."""
    try:
        with session.begin_nested():
            session.add_all(
                AnnouncedClaim(claim_id=claim_id, message_id=message_id) for claim_id in claim_ids
            )
            session.flush()
    except IntegrityError:
        session.rollback()
        return False
    return True


def _key_taken(dedupe_key: str):
    return select(SentMessage.id).where(SentMessage.dedupe_key == dedupe_key)


def _extend_link(session: Session, confirmation_id: str, until: datetime) -> None:
    # The reminder's fresh link must work as long as it says: the confirmation (which makes
    # every link to it single-use) stays open until then.
    session.execute(
        update(HireConfirmation)
        .where(HireConfirmation.id == confirmation_id, HireConfirmation.expires_at < until)
        .values(expires_at=until)
    )


def _failed_to_retry(session_factory: sessionmaker, now: datetime, kinds=None) -> list[tuple]:
    with session_factory() as session:
        return list(
            session.execute(
                select(SentMessage.id, SentMessage.kind, SentMessage.attempts)
                .outerjoin(HireConfirmation, HireConfirmation.id == SentMessage.confirmation_id)
                .where(
                    SentMessage.kind.in_(kinds) if kinds else true(),
                    SentMessage.state == MessageState.FAILED,
                    SentMessage.attempts < MAX_ATTEMPTS,
                    or_(
                        SentMessage.confirmation_id.is_(None),
                        and_(
                            HireConfirmation.answered_at.is_(None),
                            HireConfirmation.expires_at >= now,
                        ),
                    ),
                )
                .order_by(SentMessage.id)
            )
        )


def _retry(session_factory, message_id: int, attempts: int, result, send: Sender) -> None:
    """Take a failed message back (one transaction), counting the attempt, then send it."""
    with session_factory() as session:
        taken = session.execute(
            update(SentMessage)
            .where(
                SentMessage.id == message_id,
                SentMessage.state == MessageState.FAILED,
                SentMessage.attempts == attempts,
            )
            .values(state=MessageState.PENDING, attempts=attempts + 1)
        ).rowcount
        if taken != 1:
            session.rollback()
            return  # another run took it
        message = session.get(SentMessage, message_id, populate_existing=True)
        session.commit()
    result.retried[message.kind] += 1
    _deliver(session_factory, message_id, message.kind, message, result, send)


def _deliver(session_factory, message_id: int, kind, message, result, send: Sender) -> None:
    """Hand the message to the mail server, then record whether it took it."""
    try:
        send(message.recipient, message.subject, message.body, html=message.html)
    except MailNotSent as error:
        problem = str(error)
    else:
        problem = None
    with session_factory() as session:
        row = session.get(SentMessage, message_id, populate_existing=True)
        if problem is None:
            row.state, row.sent_at, row.last_error = MessageState.SENT, utc_now(), None
            result.sent[kind] += 1
        else:
            row.state, row.last_error = MessageState.FAILED, problem[:2000]
            result.failed[kind] += 1
            log.error("%s (attempt %s) not sent: %s", row.dedupe_key, row.attempts, problem)
        session.commit()


# ---------------------------------------------------------------------------------------------
# What is due
# ---------------------------------------------------------------------------------------------


def _due(session_factory, settings: Settings, as_of: date, now: datetime) -> list[Draft]:
    """Every message due and not recorded yet, read in one session closed before any write
    (on SQLite an open transaction holds the write lock). The graduates' reminders are
    written only once their keys are known not to be taken."""
    with session_factory() as session:
        due = _graduates_due(session, settings, as_of)
        taken = _taken_keys(session, [reminder.dedupe_key for reminder in due])
        drafts = _graduate_drafts(
            session, [reminder for reminder in due if reminder.dedupe_key not in taken], as_of
        )
        others = [*_new_claims(session), *_employer_reminders(session, settings, now)]
        taken = _taken_keys(session, [draft.dedupe_key for draft in others])
    return drafts + [draft for draft in others if draft.dedupe_key not in taken]


def _taken_keys(session: Session, keys: list[str]) -> set[str]:
    taken: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        taken.update(
            session.scalars(select(SentMessage.dedupe_key).where(SentMessage.dedupe_key.in_(chunk)))
        )
    return taken


@dataclass(frozen=True)
class GraduateReminder:
    """A graduate's reminder found due, before its email is written."""

    kind: MessageKind
    dedupe_key: str
    graduation_id: int
    deadline: date


def _searching(session: Session, as_of: date):
    """The graduates still in their window on ``as_of`` (opted in, no qualifying job, not
    excluded: ``refunds.sweep.in_window_closing_before``, the rule in SQL), not erased and
    without a claim, as a CTE: each graduation's id, deadline, window start and its policy's
    weekly terms; ``None`` without a policy."""
    since = earliest_open_qualification(session, as_of)
    if since is None:
        return None
    # No window closes after the last day a date can be.
    searching = in_window_closing_before(as_of, date.max, since).subquery("in_window")
    return (
        select(
            searching.c.graduation_id,
            searching.c.deadline,
            window_start_sql(Graduation.qualified_on, GuaranteePolicy.window_starts).label(
                "window_start"
            ),
            GuaranteePolicy.weekly_applications,
            GuaranteePolicy.coaching_every_weeks,
        )
        .join(Graduation, Graduation.id == searching.c.graduation_id)
        .join(Enrollment, Enrollment.id == searching.c.enrollment_id)
        .join(Student, Student.id == Enrollment.student_id)
        .join(GuaranteePolicy, GuaranteePolicy.id == Enrollment.policy_id)
        .where(
            Student.erased_at.is_(None),
            ~exists().where(RefundClaim.enrollment_id == Enrollment.id),
        )
        .cte("searching")
    )


def _graduates_due(session: Session, settings: Settings, as_of: date) -> list[GraduateReminder]:
    """The deadline and falling-behind reminders due on ``as_of``, in one statement.

    It finds who is in their window, with their deadline (whether a deadline reminder is due
    follows from it), and among those whose policy asks for something every week, who is
    warned they are falling behind, and about which week
    (``app.services.falling_behind``). Nobody's log is read here."""
    searching = _searching(session, as_of)
    if searching is None:
        return []
    weekly = (
        select(searching)
        .where(
            or_(
                searching.c.weekly_applications > 0,
                searching.c.coaching_every_weeks.is_not(None),
            )
        )
        .subquery("weekly")
    )
    warned = warned_weeks(weekly, as_of).subquery("warned")
    rows = session.execute(
        select(
            searching.c.graduation_id,
            searching.c.deadline,
            warned.c.window_start,
            warned.c.week_index,
        )
        .outerjoin(warned, warned.c.graduation_id == searching.c.graduation_id)
        .order_by(searching.c.graduation_id)
    )
    due: list[GraduateReminder] = []
    for row in rows:
        days = _deadline_days(row.deadline, settings, as_of)
        if days is not None:
            key = f"deadline:{row.graduation_id}:{row.deadline.isoformat()}:{days}"
            due.append(
                GraduateReminder(
                    MessageKind.DEADLINE_APPROACHING, key, row.graduation_id, row.deadline
                )
            )
        if row.week_index is not None:
            starts_on = row.window_start + timedelta(days=WEEK * row.week_index)
            key = f"behind:{row.graduation_id}:{starts_on.isoformat()}"
            due.append(
                GraduateReminder(MessageKind.FALLING_BEHIND, key, row.graduation_id, row.deadline)
            )
    return due


def _graduate_reminders(session: Session, settings: Settings, as_of: date) -> list[Draft]:
    """The deadline and falling-behind reminders due on ``as_of``, written
    (``_graduates_due``, then ``_graduate_drafts``), whether sent already or not."""
    return _graduate_drafts(session, _graduates_due(session, settings, as_of), as_of)


def _graduate_drafts(session: Session, due: list[GraduateReminder], as_of: date) -> list[Draft]:
    """The emails of the reminders ``due``, written in each reader's language: their
    graduates' records read a batch at a time, and the search logs of those falling behind
    judged by the rule for what the email lists."""
    drafts: list[Draft] = []
    for start in range(0, len(due), 500):
        batch = due[start : start + 500]
        ids = sorted({reminder.graduation_id for reminder in batch})
        graduations = {
            graduation.id: graduation
            for graduation in session.scalars(
                select(Graduation)
                .where(among(session, Graduation.id, ids))
                .options(
                    selectinload(Graduation.enrollment).options(
                        selectinload(Enrollment.student),
                        selectinload(Enrollment.programme),
                        selectinload(Enrollment.policy),
                    )
                )
            )
        }
        readers = graduate_readers(
            session, [graduation.enrollment.student for graduation in graduations.values()]
        )
        behind = [r for r in batch if r.kind is MessageKind.FALLING_BEHIND]
        records = search_records(
            session, [(graduations[r.graduation_id], as_of, r.deadline) for r in behind]
        )
        compliance = {
            reminder.graduation_id: record.compliance
            for reminder, record in zip(behind, records, strict=True)
        }
        for reminder in batch:
            graduation = graduations[reminder.graduation_id]
            reader = readers[graduation.enrollment.student_id]
            if reminder.kind is MessageKind.DEADLINE_APPROACHING:
                drafts.append(_deadline_reminder(graduation, reminder, reader, as_of))
            else:
                drafts.extend(
                    _falling_behind(
                        graduation, reminder, compliance[reminder.graduation_id], reader, as_of
                    )
                )
    return drafts


def _deadline_days(deadline: date, settings: Settings, as_of: date) -> int | None:
    """The deadline reminder due on ``as_of`` (its days before the deadline), if any."""
    return deadline_reminder_due((deadline - as_of).days, settings.reminder_days_before_deadline)


def _deadline_reminder(
    graduation: Graduation, reminder: GraduateReminder, reader, as_of: date
) -> Draft:
    days_left = (reminder.deadline - as_of).days
    student = graduation.enrollment.student
    email = render(
        "deadline_approaching",
        reader=reader,
        name=student.name,
        programme=graduation.enrollment.programme.name,
        deadline=reminder.deadline,
        days_left=days_left,
        when=_days_phrase(days_left),
        as_of=as_of,
    )
    return _draft(reminder, graduation, email)


def _falling_behind(
    graduation: Graduation,
    reminder: GraduateReminder,
    compliance: Compliance,
    reader,
    as_of: date,
) -> list[Draft]:
    # The week the selection found is the rule's (a property test proves them equal).
    week = week_to_warn_about(compliance)
    if week is None:
        return []
    student = graduation.enrollment.student
    email = render(
        "falling_behind",
        reader=reader,
        name=student.name,
        programme=graduation.enrollment.programme.name,
        as_of=as_of,
        todo=[_sentence(line) for line in compliance.behind],
        missed=[_sentence(line) for line in compliance.shortfalls],
        week_number=week.number,
        week_ends_on=week.ends_on,
        week_days_left=_days_phrase(days_left_in_week(week, as_of)),
        deadline=reminder.deadline,
        days_left=_days_phrase((reminder.deadline - as_of).days),
    )
    return [_draft(reminder, graduation, email)]


def _draft(reminder: GraduateReminder, graduation: Graduation, email) -> Draft:
    """The message of ``reminder`` to ``graduation``'s graduate, written as ``email``."""
    return Draft(
        kind=reminder.kind,
        dedupe_key=reminder.dedupe_key,
        recipient=graduation.enrollment.student.email,
        subject=email.subject,
        body=email.text,
        html=email.html,
        graduation_id=graduation.id,
    )


#: The states of a claim finance is told about: new, sent to review, or voided by the review.
ANNOUNCED_STATES = (ClaimState.FLAGGED, ClaimState.IN_REVIEW, ClaimState.REJECTED)


def _new_claims(session: Session) -> list[Draft]:
    """One digest to finance of every claim not announced yet: one email per run, not one per
    claim (a sweep flags many at once)."""
    announced = or_(
        exists().where(AnnouncedClaim.claim_id == RefundClaim.id),
        # Before digests, each claim had a message of its own.
        exists().where(
            SentMessage.claim_id == RefundClaim.id, SentMessage.kind == MessageKind.NEW_CLAIM
        ),
    )
    claims = session.scalars(
        select(RefundClaim)
        # The review after the sweep may already have sent a new claim to review, or voided
        # it: finance hears of those too.
        .where(RefundClaim.state.in_(ANNOUNCED_STATES), ~announced)
        .order_by(RefundClaim.id)
    ).all()
    if not claims:
        return []
    finance = session.scalars(
        select(User.email)
        .where(User.role == Role.FINANCE, User.active.is_(True))
        .order_by(User.email)
    ).all()
    if not finance:
        log.warning("%s new claims to announce, but no active finance account", len(claims))
        return []
    email = render(
        "new_claims",
        reader=shared_reader(session, finance),
        claims=[_claim_line(claim) for claim in claims],
    )
    ids = tuple(claim.id for claim in claims)
    return [
        Draft(
            kind=MessageKind.NEW_CLAIM,
            # Unique per digest: its claims are announced once each (``AnnouncedClaim``).
            dedupe_key=f"new-claims:{ids[0]}-{ids[-1]}:{len(ids)}",
            recipient=", ".join(finance),
            subject=email.subject,
            body=email.text,
            html=email.html,
            claim_id=ids[0] if len(ids) == 1 else None,
            graduation_id=claims[0].graduation_id if len(ids) == 1 else None,
            announces=ids,
        )
    ]


def _claim_line(claim: RefundClaim) -> dict:
    """What finance's email says of one claim."""
    return {
        "name": claim.enrollment.student.name,
        # Written when the email is rendered, as its reader writes them.
        "amount": LazyString(money, claim.amount_minor, claim.currency),
        "flagged_on": claim.flagged_on,
        "state": LazyString(words, claim.state),
        "link": absolute_url("finance.claim", claim_id=claim.id),
    }


def _employer_reminders(session: Session, settings: Settings, now: datetime) -> list[Draft]:
    if settings.employer_reminder_limit == 0:
        return []
    earlier = (
        select(
            SentMessage.confirmation_id,
            func.count().label("count"),
            func.max(SentMessage.created_at).label("last_at"),
        )
        .where(SentMessage.kind == MessageKind.EMPLOYER_REMINDER)
        .group_by(SentMessage.confirmation_id)
        .subquery()
    )
    rows = session.execute(
        select(HireConfirmation, earlier.c.count, earlier.c.last_at)
        .join(JobOutcome, JobOutcome.id == HireConfirmation.job_outcome_id)
        .join(Graduation, Graduation.id == JobOutcome.graduation_id)
        .join(Enrollment, Enrollment.id == Graduation.enrollment_id)
        .join(Student, Student.id == Enrollment.student_id)
        .outerjoin(earlier, earlier.c.confirmation_id == HireConfirmation.id)
        .where(
            HireConfirmation.answered_at.is_(None),
            HireConfirmation.expires_at >= now,
            HireConfirmation.created_at
            <= now - timedelta(days=settings.employer_reminder_after_days),
            JobOutcome.employer_id.is_not(None),
            Student.erased_at.is_(None),
        )
        .order_by(HireConfirmation.created_at, HireConfirmation.id)
    ).all()
    drafts = []
    for confirmation, count, last_at in rows:
        number = employer_reminder_due(
            requested_at=confirmation.created_at,
            reminders_so_far=count or 0,
            last_reminder_at=last_at,
            now=now,
            after_days=settings.employer_reminder_after_days,
            limit=settings.employer_reminder_limit,
        )
        if number is not None:
            drafts.append(_employer_reminder(confirmation, number, now))
    return drafts


def _employer_reminder(confirmation: HireConfirmation, number: int, now: datetime) -> Draft:
    outcome = confirmation.job_outcome
    until = max(confirmation.expires_at, now + LINK_LIFETIME)
    email = render(
        "employer_reminder",
        reader=employer_reader(outcome, confirmation.sent_to),
        graduate_name=outcome.graduation.enrollment.student.name,
        employer_name=outcome.employer.name,
        title=outcome.title,
        start_date=outcome.start_date,
        employment_type=LazyString(words, outcome.employment_type),
        requested_on=confirmation.created_at,
        link=absolute_url("employer.confirm", token=link_token(confirmation.id)),
        expires_at=until,
    )
    return Draft(
        kind=MessageKind.EMPLOYER_REMINDER,
        dedupe_key=f"employer:{confirmation.id}:{number}",
        recipient=confirmation.sent_to,
        subject=email.subject,
        body=email.text,
        html=email.html,
        graduation_id=outcome.graduation_id,
        confirmation_id=confirmation.id,
        link_expires_at=until,
    )


# ---------------------------------------------------------------------------------------------
# Wording
# ---------------------------------------------------------------------------------------------


def _days_phrase(days: int | None) -> str:
    if days is None:
        return "no days"
    return "1 day" if days == 1 else f"{days} days"


def _sentence(text: str) -> LazyString:
    """A line of the rule's, as a sentence in the reader's language (said when rendered)."""

    def written() -> str:
        # English readers get the rule's own words, as its record and the API keep them.
        words_ = text if get_locale().language == "en" else said(text)
        return words_[:1].upper() + words_[1:] + ("" if words_.endswith(".") else ".")

    return LazyString(written)

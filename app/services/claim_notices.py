"""What the graduate is told of their claim: a line on ``/me`` and an email at each step.

Each step of a claim (``ClaimTransition``) carries two notes: ``reason``, the internal note only
staff read, and ``graduate_note``, what the graduate is told. The graduate's page and emails are
written from the step's state and the note meant for them; the internal note never reaches them.

The graduate is emailed when their claim is opened, approved, rejected (with the note meant for
them and how to appeal), refunded (each share: where it went, how much, when) or paid by bank
transfer instead, and when their appeal is received and decided. Each email is a ``SentMessage``
under a key naming its step (``claim-step:<transition id>``, ``appeal:<appeal id>:received``),
recorded before it is sent, so none goes twice; one the SMTP server refused is sent again by a
later run, as reminders are (``app.services.reminders``).

``send_claim_notices`` runs right after a person acts on a claim (finance, the graduate's
appeal) and on the scheduler (steps the sweep, the executor or a webhook took, and retries).
Steps older than ``LOOKBACK`` are history: an installation that upgrades does not email them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import LazyString
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.access import Permission, Principal, authorize, refuse
from app.guarantee.terms import PayerType
from app.mail import deliver, render, written_day
from app.models import Enrollment, MessageKind, SentMessage, Student, TuitionPayment
from app.pages.formatting import money
from app.services.readers import graduate_reader
from app.services.records import MAX_ID
from app.services.reminders import Draft, ReminderResult, Sender, retry_failed, send_drafts
from refunds import claims as refund_claims
from refunds.models import ClaimAppeal, ClaimTransition, Refund, RefundClaim
from refunds.states import ClaimState, RefundState

log = logging.getLogger(__name__)

S = ClaimState

#: Steps older than this are not emailed (history, when notices are first switched on).
LOOKBACK = timedelta(days=7)

#: The email of each step the graduate is told of, by the state it reached.
STEP_EMAILS = {
    S.FLAGGED: MessageKind.CLAIM_OPENED,
    S.APPROVED: MessageKind.CLAIM_APPROVED,
    S.REJECTED: MessageKind.CLAIM_REJECTED,
    S.REFUNDED: MessageKind.CLAIM_REFUNDED,
    S.SETTLED_MANUALLY: MessageKind.CLAIM_SETTLED_MANUALLY,
}

#: Every kind of email a graduate gets about their claim.
CLAIM_KINDS = (*STEP_EMAILS.values(), MessageKind.APPEAL_RECEIVED, MessageKind.APPEAL_DECIDED)

#: What each step says to the graduate, in their words.
STEP_WORDS = {
    S.FLAGGED: "Your refund claim was opened",
    S.IN_REVIEW: "The school is reviewing your claim",
    S.AWAITING_SECOND_APPROVAL: "Approved by one person; a second approval is needed",
    S.APPROVED: "Your claim was approved: the refund is on its way",
    S.REJECTED: "Your claim was rejected",
    S.WITHDRAWN: "Your claim was closed: the records say you are not owed a refund",
    S.PAYING: "Your refund is being sent",
    S.REFUNDED: "Your refund was paid",
    S.FAILED: "A refund could not be paid; the school is sorting it out",
    S.SETTLED_MANUALLY: "Your refund was paid by bank transfer",
}

#: Where an appeal stands, in the graduate's words.
APPEAL_WORDS = {
    "received": "received: a second reviewer, not the one who rejected your claim, will hear it",
    "heard": "being heard by a second reviewer",
    "upheld": "upheld: your claim was approved",
    "dismissed": "dismissed: the rejection stands",
    "closed": "closed: the records say you are not owed a refund",
}

#: What ends an appeal: the first of these steps after it.
_DECISIONS = {S.APPROVED: "upheld", S.REJECTED: "dismissed", S.WITHDRAWN: "closed"}


@dataclass(frozen=True)
class StoryLine:
    """One line of the claim's progress on the graduate's page."""

    at: datetime
    title: str
    #: What the school wrote for the graduate at this step, or their own appeal.
    note: str | None = None


@dataclass(frozen=True)
class RefundShare:
    """One share of the refund, as the graduate reads it: ``to`` and ``amount`` are written
    when they are read, in the reader's language (their page, or an email to them)."""

    to: LazyString
    amount: LazyString
    on: date | None
    state: RefundState


@dataclass(frozen=True)
class AppealView:
    """The graduate's latest appeal and where it stands."""

    appeal: ClaimAppeal
    status: str

    @property
    def words(self) -> str:
        return APPEAL_WORDS[self.status]


# ---------------------------------------------------------------------------------------------
# What the graduate's page says
# ---------------------------------------------------------------------------------------------


def story(claim: RefundClaim) -> list[StoryLine]:
    """The claim's steps and the graduate's appeals, oldest first, as the graduate reads them:
    the step's own words and the note meant for them, never the internal note."""
    lines = [
        StoryLine(at=step.at, title=STEP_WORDS[step.to_state], note=step.graduate_note)
        for step in claim.transitions
    ]
    lines += [
        StoryLine(at=appeal.created_at, title="You appealed", note=appeal.reasons)
        for appeal in claim.appeals
    ]
    return sorted(lines, key=lambda line: line.at)


def appeal_status(claim: RefundClaim, appeal: ClaimAppeal) -> str:
    """Where ``appeal`` stands: received, heard, upheld, dismissed or closed."""
    after = [step for step in claim.transitions if step.id > appeal.rejection_id]
    for step in after:
        if step.to_state in _DECISIONS:
            return _DECISIONS[step.to_state]
    return "heard" if after else "received"


def latest_appeal(claim: RefundClaim) -> AppealView | None:
    """The graduate's latest appeal and its state; ``None`` when they never appealed."""
    if not claim.appeals:
        return None
    appeal = claim.appeals[-1]
    return AppealView(appeal=appeal, status=appeal_status(claim, appeal))


def can_appeal(claim: RefundClaim) -> bool:
    """Whether the graduate can appeal now: the claim is rejected and this rejection has not
    been appealed."""
    if claim.state is not S.REJECTED:
        return False
    rejection = _latest_rejection(claim)
    return rejection is not None and all(a.rejection_id != rejection.id for a in claim.appeals)


def refund_shares(session: Session, claim: RefundClaim) -> list[RefundShare]:
    """Each share of the refund that went (or is going) out: where to, how much, and when."""
    rows = session.execute(
        select(Refund, TuitionPayment)
        .join(TuitionPayment, TuitionPayment.id == Refund.payment_id)
        .where(Refund.claim_id == claim.id, Refund.state != RefundState.CANCELED)
        .order_by(Refund.id)
    )
    return [
        RefundShare(
            to=LazyString(_destination, refund, payment),
            amount=LazyString(money, refund.amount_minor, refund.currency),
            on=refund.updated_at.date() if refund.state in _PAID else None,
            state=refund.state,
        )
        for refund, payment in rows
    ]


_PAID = (RefundState.SUCCEEDED, RefundState.SETTLED_MANUALLY)


def _destination(refund: Refund, payment: TuitionPayment) -> str:
    paid = _(
        "%(amount)s paid on %(day)s",
        amount=money(payment.amount_minor, payment.currency),
        day=written_day(payment.paid_at),
    )
    if refund.state is RefundState.SETTLED_MANUALLY:
        return _(
            "by bank transfer (reference %(reference)s), for the %(paid)s",
            reference=refund.manual_reference,
            paid=paid,
        )
    if payment.payer_type is PayerType.SPONSOR:
        sponsor = payment.payer_name or _("who paid it")
        return _("to your sponsor, %(sponsor)s, for the %(paid)s", sponsor=sponsor, paid=paid)
    if payment.stripe_payment_intent_id:
        return _("to the card you paid with: the %(paid)s", paid=paid)
    return _("back the way you paid: the %(paid)s", paid=paid)


def own_claim(session: Session, principal: Principal, claim_id: int) -> RefundClaim:
    """The signed-in graduate's own claim ``claim_id``.

    Someone else's claim, or one that does not exist, is refused alike (and the refusal
    audited), so the answer tells nobody which claims exist.
    """
    authorize(principal, Permission.OWN_GUARANTEE)
    claim = session.get(RefundClaim, claim_id) if 0 < claim_id <= MAX_ID else None
    if (
        claim is None
        or principal.student_id is None
        or claim.enrollment.student_id != principal.student_id
    ):
        refuse(principal, "act on another graduate's claim", f"claim:{claim_id}")
    return claim


def appeal(session: Session, principal: Principal, claim_id: int, reasons: str) -> ClaimAppeal:
    """The signed-in graduate appeals the rejection of their own claim; the caller commits."""
    own_claim(session, principal, claim_id)
    return refund_claims.appeal(session, claim_id, actor=principal.actor, reasons=reasons)


def _latest_rejection(claim: RefundClaim) -> ClaimTransition | None:
    rejections = [step for step in claim.transitions if step.to_state is S.REJECTED]
    return rejections[-1] if rejections else None


# ---------------------------------------------------------------------------------------------
# The emails
# ---------------------------------------------------------------------------------------------


def send_claim_notices(
    session_factory: sessionmaker,
    now: datetime,
    *,
    claim_id: int | None = None,
    send: Sender = deliver,
) -> ReminderResult:
    """Email each graduate the steps of their claim not emailed yet (of ``claim_id`` only, when
    given), once each; first retry the claim emails that failed before."""
    result = ReminderResult(as_of=now.date())
    retry_failed(session_factory, now, result, send, kinds=CLAIM_KINDS)
    send_drafts(session_factory, _due(session_factory, now, claim_id), now, result, send)
    return result


def notify_quietly(session_factory: sessionmaker, now: datetime, claim_id: int) -> None:
    """``send_claim_notices`` for one claim after a person acted on it: a failure is logged and
    left to the scheduler's next run, never shown to the person as if their action failed."""
    try:
        send_claim_notices(session_factory, now, claim_id=claim_id)
    except Exception:  # the action is committed; the scheduler sends what this could not
        log.exception("claim %s: notices not sent now; the scheduler will retry", claim_id)


def _due(session_factory: sessionmaker, now: datetime, claim_id: int | None) -> list[Draft]:
    """The emails due and not recorded yet, read in one session closed before any write."""
    since = now - LOOKBACK
    with session_factory() as session:
        steps = select(ClaimTransition.claim_id).where(
            ClaimTransition.at >= since, ClaimTransition.to_state.in_(STEP_EMAILS)
        )
        appeals = select(ClaimAppeal.claim_id).where(ClaimAppeal.created_at >= since)
        query = (
            select(RefundClaim)
            .join(Enrollment, Enrollment.id == RefundClaim.enrollment_id)
            .join(Student, Student.id == Enrollment.student_id)
            .where(
                Student.erased_at.is_(None),
                RefundClaim.id.in_(steps.union(appeals)),
            )
            .order_by(RefundClaim.id)
        )
        if claim_id is not None:
            query = query.where(RefundClaim.id == claim_id)
        drafts = [
            draft for claim in session.scalars(query) for draft in _drafts(session, claim, since)
        ]
        keys = [draft.dedupe_key for draft in drafts]
        taken = set(
            session.scalars(select(SentMessage.dedupe_key).where(SentMessage.dedupe_key.in_(keys)))
        )
    return [draft for draft in drafts if draft.dedupe_key not in taken]


def _drafts(session: Session, claim: RefundClaim, since: datetime) -> list[Draft]:
    drafts = []
    for step in claim.transitions:
        if step.at < since or step.to_state not in STEP_EMAILS:
            continue
        if step.to_state is S.FLAGGED and step.from_state is not None:
            continue  # only the first flagging opens the claim
        drafts.append(_step_email(session, claim, step))
    for appeal_row in claim.appeals:
        if appeal_row.created_at >= since:
            drafts.append(_appeal_received(claim, appeal_row))
    return drafts


def _appeal_decided_by(claim: RefundClaim, step: ClaimTransition) -> ClaimAppeal | None:
    """The appeal ``step`` decides: the latest before it with no decision in between."""
    for appeal_row in reversed(claim.appeals):
        if appeal_row.rejection_id >= step.id:
            continue
        between = [
            other
            for other in claim.transitions
            if appeal_row.rejection_id < other.id < step.id and other.to_state in _DECISIONS
        ]
        return None if between else appeal_row
    return None


def _step_email(session: Session, claim: RefundClaim, step: ClaimTransition) -> Draft:
    student = claim.enrollment.student
    context = {
        "name": student.name,
        "programme": claim.enrollment.programme.name,
        "amount": LazyString(money, claim.amount_minor, claim.currency),
        "note": step.graduate_note,
        "on": step.at.date(),
        "state": step.to_state.value,
    }
    kind = STEP_EMAILS[step.to_state]
    template = kind.value
    decided = _appeal_decided_by(claim, step) if step.to_state in (S.APPROVED, S.REJECTED) else None
    if decided is not None:
        kind, template = MessageKind.APPEAL_DECIDED, "appeal_decided"
        context["appeal"] = decided
    if step.to_state in (S.REFUNDED, S.SETTLED_MANUALLY):
        context["shares"] = refund_shares(session, claim)
    email = render(template, reader=graduate_reader(student), **context)
    return Draft(
        kind=kind,
        dedupe_key=f"claim-step:{step.id}",
        recipient=student.email,
        subject=email.subject,
        body=email.text,
        html=email.html,
        graduation_id=claim.graduation_id,
        claim_id=claim.id,
    )


def _appeal_received(claim: RefundClaim, appeal_row: ClaimAppeal) -> Draft:
    student = claim.enrollment.student
    email = render(
        "appeal_received",
        reader=graduate_reader(student),
        name=student.name,
        programme=claim.enrollment.programme.name,
        reasons=appeal_row.reasons,
        on=appeal_row.created_at.date(),
    )
    return Draft(
        kind=MessageKind.APPEAL_RECEIVED,
        dedupe_key=f"appeal:{appeal_row.id}:received",
        recipient=student.email,
        subject=email.subject,
        body=email.text,
        html=email.html,
        graduation_id=claim.graduation_id,
        claim_id=claim.id,
    )

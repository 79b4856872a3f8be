"""Finance hears of each claim the sweep flags, once, in one digest per run; an employer who
has not answered a hire confirmation is reminded, with a fresh link to the same single-use
confirmation, a limited number of times."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from app.models import AnnouncedClaim, HireConfirmation, MessageKind, MessageState, Role
from app.models.base import utc_now
from app.services.confirmations import LINK_LIFETIME, answer, request_confirmation
from refunds.models import RefundClaim
from refunds.states import ClaimState
from refunds.sweep import sweep
from tests.factories import (
    AuditedRefundClaimFactory,
    GraduationFactory,
    JobOutcomeFactory,
    StudentFactory,
    TuitionPaymentFactory,
    UserFactory,
)
from tests.reminders.conftest import messages

AS_OF = date(2026, 3, 2)

# ---------------------------------------------------------------------------------------------
# New claims, to finance
# ---------------------------------------------------------------------------------------------


def test_new_claim_is_announced_once_to_every_active_finance_person(session, remind, mailbox):
    UserFactory(role=Role.FINANCE, email="zoe@school.example")
    UserFactory(role=Role.FINANCE, email="ada@school.example")
    UserFactory(role=Role.FINANCE, email="gone@school.example", active=False)
    UserFactory(role=Role.REGISTRAR, email="reg@school.example")
    claim = AuditedRefundClaimFactory(amount_minor=650_000)
    student = claim.enrollment.student

    first = remind(AS_OF)
    second = remind(AS_OF)

    assert first.sent[MessageKind.NEW_CLAIM] == 1
    assert second.due.total() == 0
    email = mailbox.only()
    assert email["To"] == "ada@school.example, zoe@school.example"
    assert email["Subject"] == f"New refund claim to review: {student.name}"
    body = mailbox.body(email)
    assert f"Graduate: {student.name}" in body
    assert "Amount: €6,500.00" in body
    assert "flagged on 01 March 2026; it is now flagged" in body
    assert student.email not in body
    assert mailbox.link_path(email) == f"/finance/claims/{claim.id}"
    [message] = messages(session)
    assert message.dedupe_key == f"new-claims:{claim.id}-{claim.id}:1"
    assert (message.claim_id, message.graduation_id) == (claim.id, claim.graduation_id)


def test_claims_the_review_moved_are_announced_with_their_state(session, remind, mailbox):
    UserFactory(role=Role.FINANCE)
    in_review = AuditedRefundClaimFactory(state=ClaimState.IN_REVIEW)
    voided = AuditedRefundClaimFactory(state=ClaimState.REJECTED)

    assert remind(AS_OF).sent[MessageKind.NEW_CLAIM] == 1
    announced = session.scalars(select(AnnouncedClaim.claim_id).order_by(AnnouncedClaim.claim_id))
    assert list(announced) == sorted([in_review.id, voided.id])
    body = mailbox.body(mailbox.only())
    assert "it is now in review" in body
    assert "it is now rejected" in body


def test_a_sweep_that_flags_several_claims_sends_finance_one_digest_listing_each(
    app, session, remind, mailbox, client
):
    UserFactory(role=Role.FINANCE, email="ada@school.example")
    owed = [
        GraduationFactory(
            enrollment=TuitionPaymentFactory(amount_minor=300_000 + n).enrollment,
            qualified_on=date(2025, 8, 31),
        )
        for n in range(4)
    ]

    assert sweep(session, AS_OF).flagged == 4
    first = remind(AS_OF)
    second = remind(AS_OF)

    assert (first.sent[MessageKind.NEW_CLAIM], second.due.total()) == (1, 0)
    email = mailbox.only()
    assert email["Subject"] == "4 new refund claims to review"
    text = mailbox.body(email).replace("\r\n", "\n")
    claims = session.scalars(select(RefundClaim).order_by(RefundClaim.id)).all()
    assert len(claims) == 4
    for graduation, claim in zip(owed, claims, strict=True):
        assert f"Graduate: {graduation.enrollment.student.name}" in text
        link = f"{app.config['BASE_URL']}/finance/claims/{claim.id}"
        assert f"\n{link}\n" in text, "each claim's link stands whole on its line"
    html = email.get_body(preferencelist=("html",)).get_content()
    assert html.count("/finance/claims/") >= 4
    # A later claim gets a digest of its own; the four are not announced again.
    GraduationFactory(
        enrollment=TuitionPaymentFactory(amount_minor=1000).enrollment,
        qualified_on=date(2025, 8, 31),
    )
    sweep(session, AS_OF)
    mailbox.clear()
    assert remind(AS_OF).sent[MessageKind.NEW_CLAIM] == 1
    assert mailbox.only()["Subject"].startswith("New refund claim to review: ")


def test_claims_finance_already_took_further_are_not_announced(session, remind, mailbox):
    UserFactory(role=Role.FINANCE)
    AuditedRefundClaimFactory(state=ClaimState.WITHDRAWN)
    AuditedRefundClaimFactory(state=ClaimState.APPROVED)

    assert remind(AS_OF).due.total() == 0
    assert mailbox.messages == []


def test_a_new_claim_waits_until_there_is_an_active_finance_person(session, remind, mailbox):
    claim = AuditedRefundClaimFactory()
    UserFactory(role=Role.FINANCE, active=False)

    assert remind(AS_OF).due.total() == 0
    UserFactory(role=Role.FINANCE, email="new@school.example")
    assert remind(AS_OF).sent[MessageKind.NEW_CLAIM] == 1
    assert mailbox.only()["To"] == "new@school.example"
    assert [m.claim_id for m in messages(session)] == [claim.id]


# ---------------------------------------------------------------------------------------------
# Employers with a pending confirmation
# ---------------------------------------------------------------------------------------------


def pending_confirmation(session, days_ago: float) -> HireConfirmation:
    """A confirmation requested ``days_ago`` days ago, expiring 14 days after that."""
    outcome = JobOutcomeFactory()
    confirmation = request_confirmation(session, outcome)
    requested = utc_now() - timedelta(days=days_ago)
    confirmation.created_at = requested
    confirmation.expires_at = requested + LINK_LIFETIME
    session.flush()
    return confirmation


def test_employer_is_reminded_a_week_after_the_request_with_a_link_that_opens_it(
    session, remind, mailbox, client
):
    confirmation = pending_confirmation(session, days_ago=8)
    outcome = confirmation.job_outcome
    graduate = outcome.graduation.enrollment.student

    first = remind(AS_OF)
    second = remind(AS_OF)

    assert first.sent[MessageKind.EMPLOYER_REMINDER] == 1
    assert second.due.total() == 0
    email = mailbox.only()
    assert email["To"] == confirmation.sent_to
    assert email["Subject"] == f"Reminder: please confirm the hire of {graduate.name}"
    body = mailbox.body(email)
    assert f"{graduate.name} was hired by {outcome.employer.name} as {outcome.title}" in body
    page = client.get(mailbox.link_path(email))
    assert page.status_code == 200
    assert graduate.name in page.get_data(as_text=True)
    [message] = messages(session)
    assert message.dedupe_key == f"employer:{confirmation.id}:1"
    assert message.confirmation_id == confirmation.id


def test_employer_reminder_extends_the_link_to_two_weeks_from_the_reminder(
    session, remind, mailbox
):
    confirmation = pending_confirmation(session, days_ago=10)  # expires in 4 days
    before = utc_now()

    remind(AS_OF)

    session.expire_all()
    extended = session.get(HireConfirmation, confirmation.id).expires_at
    assert before + LINK_LIFETIME <= extended <= utc_now() + LINK_LIFETIME
    assert f"until {extended:%d %B %Y}" in mailbox.body(mailbox.only())


def test_employer_reminders_stop_at_the_limit_a_week_apart(session, remind, mailbox):
    confirmation = pending_confirmation(session, days_ago=8)
    now = utc_now()

    sent = [
        remind(AS_OF, now=now + timedelta(days=days)).sent[MessageKind.EMPLOYER_REMINDER]
        for days in (0, 3, 6.9, 7.1, 10, 15, 30)
    ]

    assert sent == [1, 0, 0, 1, 0, 0, 0]
    assert [m.dedupe_key for m in messages(session)] == [
        f"employer:{confirmation.id}:1",
        f"employer:{confirmation.id}:2",
    ]
    assert len(mailbox.messages) == 2


def test_employer_reminder_settings_set_the_wait_and_the_limit(session, remind, mailbox):
    pending_confirmation(session, days_ago=3)
    now = utc_now()

    assert remind(AS_OF, employer_reminder_after_days=4).due.total() == 0
    sent = [
        remind(
            AS_OF,
            now=now + timedelta(days=days),
            employer_reminder_after_days=2,
            employer_reminder_limit=3,
        ).sent.total()
        for days in (0, 1, 2, 4, 6)
    ]
    assert sent == [1, 0, 1, 1, 0]
    assert remind(AS_OF, employer_reminder_limit=0, now=now + timedelta(days=30)).due.total() == 0


def test_no_employer_reminder_once_answered_expired_or_too_recent(session, remind, mailbox):
    answered = pending_confirmation(session, days_ago=8)
    answer(session, answered, confirmed=True, answered_by="link")
    expired = pending_confirmation(session, days_ago=15)
    recent = pending_confirmation(session, days_ago=6)
    session.flush()

    assert remind(AS_OF).due.total() == 0
    assert mailbox.messages == []
    assert {answered.id, expired.id, recent.id}.isdisjoint(
        {m.confirmation_id for m in messages(session)}
    )


def test_the_reminders_link_is_single_use_with_the_first(session, remind, mailbox, client):
    confirmation = pending_confirmation(session, days_ago=8)
    remind(AS_OF)
    reminder_link = mailbox.link_path(mailbox.only())

    answer(session, confirmation, confirmed=False, answered_by="link")
    session.flush()

    assert client.get(reminder_link).status_code == 410
    state = session.scalar(
        select(HireConfirmation.answered_at).where(HireConfirmation.id == confirmation.id)
    )
    assert state is not None
    assert [m.state for m in messages(session)] == [MessageState.SENT]


def test_no_employer_reminder_about_an_erased_graduate(session, remind, mailbox):
    confirmation = pending_confirmation(session, days_ago=8)
    student = confirmation.job_outcome.graduation.enrollment.student
    student.erased_at = utc_now()
    session.flush()
    StudentFactory()

    assert remind(AS_OF).due.total() == 0


def test_a_french_finance_team_reads_the_digest_amounts_and_states_in_french(
    session, remind, mailbox
):
    UserFactory(role=Role.FINANCE, locale="fr_FR")
    AuditedRefundClaimFactory(amount_minor=650_000, state=ClaimState.IN_REVIEW)

    remind(AS_OF)

    body = mailbox.body(mailbox.only())
    assert "Montant\xa0: 6\u202f500,00\xa0€" in body
    assert "«\xa0en cours d’examen\xa0»" in body
    assert "in review" not in body and "€6,500.00" not in body

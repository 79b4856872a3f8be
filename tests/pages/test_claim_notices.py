"""What the graduate is told of their claim: on ``/me`` and by email, at each step, the note
meant for them and never finance's internal note; their appeal from ``/me``, heard by a second
reviewer; every email once, and none lost to a mail server that was down."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.models import MessageKind, MessageState, Role, SentMessage
from app.models.base import utc_now
from app.services.claim_notices import send_claim_notices
from refunds import claims
from refunds.models import ClaimAppeal, Refund, RefundClaim
from refunds.states import ClaimState, RefundState
from tests.factories import (
    AuditedRefundClaimFactory,
    ClaimTransitionFactory,
    ProviderAsRecorded,
    RefundClaimFactory,
    TuitionPaymentFactory,
    UserFactory,
)
from tests.mailbox import _free_port
from tests.pages.conftest import post_form
from tests.signing_in import sign_in_client

S = ClaimState

#: What finance writes for itself: it must never reach the graduate.
INTERNAL = "Employer Acme said off the record she was difficult in the interview"
#: What finance writes for the graduate.
FOR_GRADUATE = "You did not log any applications in the last four weeks of your window."
APPEAL = "I was in hospital for three of those weeks; the letter from my doctor is on file."

_LINK = re.compile(r"https?://\S+")


@pytest.fixture
def app(app, session):
    app.config["DUAL_APPROVAL_THRESHOLD_MINOR"] = 10_000_000
    app.extensions["payment_gateway"] = ProviderAsRecorded(session)
    return app


def client_of(app, user):
    """A browser of its own, signed in as ``user``."""
    client = app.test_client()
    response = sign_in_client(client, user)  # with the code, for finance
    assert response.status_code == 302
    return client


@pytest.fixture
def people(app, session):
    """A graduate with a flagged claim (two card payments), and two finance people."""
    claim = RefundClaimFactory(state=S.FLAGGED, amount_minor=350_000)
    ClaimTransitionFactory(claim=claim, at=utc_now())  # the sweep flagged it just now
    for number, amount in enumerate((200_000, 150_000)):
        TuitionPaymentFactory(
            enrollment=claim.enrollment,
            amount_minor=amount,
            stripe_payment_intent_id=f"pi_{claim.id}_{number}",
            paid_at=datetime(2024, 1 + number, 20, 9, 30, tzinfo=UTC),
        )
    student = claim.enrollment.student
    graduate = UserFactory(role=Role.GRADUATE, student=student, email=student.email)
    ada = UserFactory(role=Role.FINANCE, name="Ada Lovelace")
    grace = UserFactory(role=Role.FINANCE, name="Grace Hopper")
    session.commit()
    return claim, graduate, ada, grace


def notify(app, session_factory):
    with app.app_context():
        return send_claim_notices(session_factory, utc_now())


def decide(client, claim_id, action, data, session):
    version = session.scalar(select(RefundClaim.version).where(RefundClaim.id == claim_id))
    return post_form(
        client,
        f"/finance/claims/{claim_id}/{action}",
        {"version": version, **data},
        token_from=f"/finance/claims/{claim_id}",
    )


def appeal(client, claim_id, reasons):
    return post_form(
        client, f"/me/claims/{claim_id}/appeal", {"reasons": reasons}, token_from="/me"
    )


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def pay_out(session, claim_id):
    """The executor's work, as the provider reports it: every refund succeeded."""
    claim = claims.lock_claim(session, claim_id)
    for number, refund in enumerate(
        session.scalars(select(Refund).where(Refund.claim_id == claim_id))
    ):
        refund.state = RefundState.SUCCEEDED
        refund.provider_refund_id = f"re_{claim_id}_{number}"
    claims.settle_from_refunds(session, claim, actor="system:executor")
    session.commit()


def test_a_rejected_graduate_reads_the_note_for_them_appeals_from_me_and_hears_of_each_step(
    app, session, session_factory, mailbox, people
):
    claim, graduate, ada, grace = people
    student = claim.enrollment.student
    me, ada_page, grace_page = (client_of(app, user) for user in (graduate, ada, grace))

    # Opened: the sweep's step is emailed by the scheduler's run.
    assert notify(app, session_factory).sent[MessageKind.CLAIM_OPENED] == 1

    # Rejected, with a note for the graduate and one for staff.
    rejected = decide(
        ada_page, claim.id, "reject", {"reason": INTERNAL, "graduate_note": FOR_GRADUATE}, session
    )
    assert rejected.status_code == 303
    page = me.get("/me").get_data(as_text=True)
    assert FOR_GRADUATE in page
    assert INTERNAL not in page
    assert "Appeal the rejection" in page

    # An empty appeal is refused and changes nothing; a real one is recorded.
    empty = appeal(me, claim.id, "   ")
    assert empty.status_code == 400
    assert "Say why the decision should change." in empty.get_data(as_text=True)
    assert session.scalars(select(ClaimAppeal)).all() == []
    sent = appeal(me, claim.id, APPEAL)
    assert sent.status_code == 303
    page = me.get("/me").get_data(as_text=True)
    assert APPEAL in page and "received: a second reviewer" in page
    assert "Appeal the rejection" not in page, "a rejection is appealed once"

    # Finance sees it waiting in the queue until a second reviewer takes it up.
    queue = grace_page.get("/finance").get_data(as_text=True)
    assert "Appeals waiting" in queue and f"/finance/claims/{claim.id}" in queue

    # The person who rejected cannot hear it; a second reviewer does, then approves.
    assert decide(ada_page, claim.id, "review", {"reason": "appeal"}, session).status_code == 409
    heard = decide(grace_page, claim.id, "review", {"reason": "reading the letter"}, session)
    assert heard.status_code == 303
    assert "being heard by a second reviewer" in me.get("/me").get_data(as_text=True)
    assert "Appeals waiting" not in grace_page.get("/finance").get_data(as_text=True)
    approved = decide(
        grace_page,
        claim.id,
        "approve",
        {"reason": "letter checks out", "graduate_note": "Your hospital stay excuses those weeks."},
        session,
    )
    assert approved.status_code == 303
    assert "upheld: your claim was approved" in me.get("/me").get_data(as_text=True)

    # Paid back to both cards.
    pay_out(session, claim.id)
    notify(app, session_factory)

    subjects = [message["Subject"] for message in mailbox.messages]
    assert subjects == [
        "Your refund claim is open",
        "Your refund claim was rejected",
        "We received your appeal",
        "Your appeal was upheld: your claim is approved",
        "Your refund of €3,500.00 was paid",
    ]
    for message in mailbox.messages:
        assert message["To"] == student.email
        text, html = text_of(message), html_of(message)
        assert INTERNAL not in text and INTERNAL not in html
        assert "letter checks out" not in text and "reading the letter" not in text
        [link] = _LINK.findall(text)
        assert me.get(link.removeprefix(app.config["BASE_URL"])).status_code == 200
    rejection, received, decided, refunded = mailbox.messages[1:]
    assert FOR_GRADUATE in text_of(rejection) and "How to appeal" in text_of(rejection)
    assert APPEAL in text_of(received)
    assert "Your hospital stay excuses those weeks." in text_of(decided)
    paid = text_of(refunded)
    today = utc_now().strftime("%d %B %Y")
    for amount, month in (("€2,000.00", "January"), ("€1,500.00", "February")):
        assert (
            f"- {amount} to the card you paid with: the {amount} paid on 20 {month} 2024,"
            f" paid on {today}"
        ) in paid

    # Nothing is sent twice, whoever runs the notices again.
    mailbox.clear()
    again = notify(app, session_factory)
    assert (again.due.total(), mailbox.messages) == (0, [])
    listed = me.get("/me/messages").get_data(as_text=True)
    for subject in subjects:
        assert subject in listed


def test_an_appeal_dismissed_tells_the_graduate_the_rejection_stands(
    app, session, session_factory, mailbox, people
):
    claim, graduate, ada, grace = people
    me, ada_page, grace_page = (client_of(app, user) for user in (graduate, ada, grace))
    decide(ada_page, claim.id, "reject", {"graduate_note": FOR_GRADUATE}, session)
    appeal(me, claim.id, APPEAL)
    decide(grace_page, claim.id, "review", {"reason": "second look"}, session)

    response = decide(
        grace_page,
        claim.id,
        "reject",
        {"reason": INTERNAL, "graduate_note": "The letter covers one week, not four."},
        session,
    )

    assert response.status_code == 303
    last = mailbox.messages[-1]
    assert last["Subject"] == "Your appeal was heard: the rejection stands"
    assert "The letter covers one week, not four." in text_of(last)
    assert INTERNAL not in text_of(last) and INTERNAL not in html_of(last)
    page = me.get("/me").get_data(as_text=True)
    assert "The letter covers one week, not four." in page and INTERNAL not in page
    assert "Appeal the rejection" in page, "a new rejection can be appealed again"


def test_staff_notes_of_every_step_stay_off_me(app, session, people):
    claim, graduate, ada, _grace = people
    me, ada_page = client_of(app, graduate), client_of(app, ada)

    decide(ada_page, claim.id, "review", {"reason": INTERNAL}, session)

    page = me.get("/me").get_data(as_text=True)
    assert "The school is reviewing your claim" in page
    assert INTERNAL not in page


def test_a_refund_paid_by_bank_transfer_is_emailed_with_its_reference(
    app, session, session_factory, mailbox, people
):
    claim, graduate, ada, _grace = people
    ada_page = client_of(app, ada)
    decide(ada_page, claim.id, "approve", {}, session)
    locked = claims.lock_claim(session, claim.id)
    for refund in session.scalars(select(Refund).where(Refund.claim_id == claim.id)):
        refund.state = RefundState.FAILED
        refund.last_error = "card expired"
    claims.transition(session, locked, S.PAYING, actor="system:executor", reason="sending")
    claims.settle_from_refunds(session, locked, actor="system:executor")
    session.commit()
    mailbox.clear()

    response = decide(
        ada_page,
        claim.id,
        "settle",
        {"transfer_reference": "TRF-2026-118", "reason": "card expired; paid from the bank"},
        session,
    )

    assert response.status_code == 303
    message = mailbox.only()
    assert message["Subject"] == "Your refund was paid by bank transfer"
    text = text_of(message)
    assert "by bank transfer (reference TRF-2026-118)" in text
    assert "card expired; paid from the bank" not in text
    page = client_of(app, graduate).get("/me").get_data(as_text=True)
    assert "TRF-2026-118" in page and "Your refund was paid by bank transfer" in page


def test_a_step_the_mail_server_refused_is_sent_by_a_later_run_once(
    app, session, session_factory, mailbox, people
):
    claim, graduate, ada, _grace = people
    AuditedRefundClaimFactory(state=S.REJECTED)  # rejected in March: history, never emailed
    ada_page = client_of(app, ada)
    assert notify(app, session_factory).sent.total() == 1  # the new claim's opening
    mailbox.clear()
    app.config["SMTP_PORT"] = _free_port()  # the mail server is down

    response = decide(ada_page, claim.id, "reject", {"graduate_note": FOR_GRADUATE}, session)

    assert response.status_code == 303, "finance's decision stands whatever the mail server does"
    session.expire_all()
    [failed] = session.scalars(
        select(SentMessage).where(SentMessage.kind == MessageKind.CLAIM_REJECTED)
    ).all()
    assert failed.state is MessageState.FAILED
    app.config["SMTP_PORT"] = mailbox.port
    assert notify(app, session_factory).retried[MessageKind.CLAIM_REJECTED] == 1
    assert notify(app, session_factory).retried.total() == 0
    assert mailbox.only()["Subject"] == "Your refund claim was rejected"
    assert FOR_GRADUATE in text_of(mailbox.only())


def test_a_graduate_cannot_appeal_another_graduates_claim_nor_an_open_one(
    app, session, people, mailbox
):
    claim, graduate, ada, _grace = people
    other = AuditedRefundClaimFactory(state=S.REJECTED)
    me = client_of(app, graduate)

    assert appeal(me, other.id, APPEAL).status_code == 403
    assert appeal(me, 10**30, APPEAL).status_code == 404
    open_claim = appeal(me, claim.id, APPEAL)
    assert open_claim.status_code == 303
    assert "cannot be appealed" in me.get("/me").get_data(as_text=True)
    assert session.scalars(select(ClaimAppeal)).all() == []


def test_an_appeal_without_a_csrf_token_is_refused(app, session, people):
    claim, graduate, ada, _grace = people
    claims.reject(session, claim.id, actor=ada.actor, reason="x", graduate_note=FOR_GRADUATE)
    session.commit()
    me = client_of(app, graduate)

    response = me.post(f"/me/claims/{claim.id}/appeal", data={"reasons": APPEAL})

    assert response.status_code == 400
    assert session.scalars(select(ClaimAppeal)).all() == []

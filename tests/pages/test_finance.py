"""Finance's pages: the claims queue, the evidence behind a claim, and deciding on it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from app.guarantee.obligations import (
    NOT_ANSWERED,
    DeclinedOffer,
    WeekCompliance,
    WeekState,
    _days,
    _week_shortfalls,
)
from app.guarantee.reasons import listed, not_voiding, void_reason
from app.guarantee.sentences import IsoDay, Sentence
from app.guarantee.terms import EmploymentType, OutcomeStatus, PayerType, PolicyTerms
from app.models import Role
from refunds import claims, notes
from refunds.models import ClaimApproval, ClaimTransition, Refund, RefundClaim
from refunds.states import ClaimState, RefundState
from tests.factories import (
    AuditedRefundClaimFactory,
    JobOutcomeFactory,
    ProviderAsRecorded,
    RefundFactory,
    TuitionPaymentFactory,
    UserFactory,
)
from tests.pages.conftest import post_form

S = ClaimState
THRESHOLD = 500_000
#: Payments below the threshold in total: one approval is enough.
SMALL = (200_000, 200_000)
#: Payments of €6,500.00 in total: above the threshold, two approvals.
LARGE = (300_000, 350_000)


@pytest.fixture
def app(app, session):
    """The application with a known dual-approval threshold."""
    app.config["DUAL_APPROVAL_THRESHOLD_MINOR"] = THRESHOLD
    app.extensions["payment_gateway"] = ProviderAsRecorded(session)
    return app


@pytest.fixture
def finance_user(session):
    return UserFactory(role=Role.FINANCE, name="Ada Lovelace")


@pytest.fixture
def signed_in(sign_in, finance_user):
    """The test client, signed in as a finance user."""
    sign_in(finance_user)
    return finance_user


def claim_in(state=S.FLAGGED, payments=SMALL, refunds=(), **kwargs) -> RefundClaim:
    """A claim for everything paid, in ``state``, its payments made through Stripe."""
    claim = AuditedRefundClaimFactory(state=state, amount_minor=sum(payments), **kwargs)
    paid = [
        TuitionPaymentFactory(
            enrollment=claim.enrollment,
            amount_minor=amount,
            stripe_payment_intent_id=f"pi_{claim.id}_{number}",
            paid_at=datetime(2024, 1 + number, 20, 9, 30, tzinfo=UTC),
        )
        for number, amount in enumerate(payments)
    ]
    for payment, (refund_state, last_error) in zip(paid, refunds, strict=False):
        RefundFactory(claim=claim, payment=payment, state=refund_state, last_error=last_error)
    return claim


def page(client, path: str) -> tuple[int, str]:
    response = client.get(path)
    return response.status_code, response.get_data(as_text=True)


def decide(client, claim: RefundClaim, action: str, data: dict, version: int | None = None):
    """POST a decision form as the claim page does, with the version the page showed."""
    form = {"version": claim.version if version is None else version, **data}
    return post_form(client, f"/finance/claims/{claim.id}/{action}", form, token_from="/finance")


def snapshot(session, claim_id: int) -> tuple:
    session.expire_all()
    claim = session.get(RefundClaim, claim_id)
    trail = session.scalars(
        select(ClaimTransition.to_state).where(ClaimTransition.claim_id == claim_id)
    ).all()
    refunds = session.scalars(select(Refund.state).where(Refund.claim_id == claim_id)).all()
    return claim.state, claim.version, trail, refunds


# --- the queue -------------------------------------------------------------------------------


def test_queue_lists_claims_needing_action_with_formatted_amounts(client, signed_in):
    flagged = claim_in(payments=LARGE)
    rejected = claim_in(S.REJECTED)

    status, body = page(client, "/finance")

    assert status == 200
    assert "€6,500.00" in body
    assert flagged.enrollment.student.name in body
    assert flagged.enrollment.programme.name in body
    assert "28 Feb 2026" in body and "1 Mar 2026" in body
    assert f"/finance/claims/{flagged.id}" in body
    assert f"/finance/claims/{rejected.id}" not in body
    assert "Needs action (1)" in body and "Rejected (1)" in body and "All (2)" in body


def test_queue_filters_by_state(client, signed_in):
    flagged = claim_in()
    rejected = claim_in(S.REJECTED)

    status, body = page(client, "/finance?state=rejected")

    assert status == 200
    assert f"/finance/claims/{rejected.id}" in body
    assert f"/finance/claims/{flagged.id}" not in body


def test_queue_with_an_unknown_state_is_400_and_shows_the_default(client, signed_in):
    flagged = claim_in()

    status, body = page(client, "/finance?state=paid")

    assert status == 400
    assert "no claim state called" in body
    assert f"/finance/claims/{flagged.id}" in body


def test_queue_paginates_oldest_first(client, signed_in, monkeypatch):
    monkeypatch.setattr("app.pages.finance.PER_PAGE", 2)
    ids = [claim_in(flagged_on=date(2026, 3, day)).id for day in (3, 1, 2)]
    oldest_first = [ids[1], ids[2], ids[0]]

    _, first = page(client, "/finance")
    _, second = page(client, "/finance?page=2")

    assert first.index(f'/claims/{oldest_first[0]}"') < first.index(f'/claims/{oldest_first[1]}"')
    assert f'/claims/{oldest_first[2]}"' not in first
    assert "page 1 of 2" in first and "Next page" in first
    assert f'/claims/{oldest_first[2]}"' in second and "Previous page" in second


def test_queue_lists_failed_claims_with_the_last_error(client, signed_in):
    claim_in(S.FAILED, refunds=[(RefundState.FAILED, "expired_or_canceled_card")])

    _, body = page(client, "/finance")

    assert "Failed refunds" in body
    assert "expired_or_canceled_card" in body


# --- the evidence ----------------------------------------------------------------------------


def test_claim_page_shows_the_evidence_split_and_trail(client, session, signed_in):
    claim = claim_in(payments=(100_000, 200_000))
    JobOutcomeFactory(
        graduation=claim.graduation,
        title="Data intern",
        employment_type=EmploymentType.INTERNSHIP,
        contract_months=3,
    )
    sponsor = claim.enrollment.payments[1]
    sponsor.payer_type, sponsor.payer_name = PayerType.SPONSOR, "Acme Bank"
    session.flush()

    status, body = page(client, f"/finance/claims/{claim.id}")

    assert status == 200
    assert claim.enrollment.student.name in body
    assert claim.enrollment.programme.name in body
    assert f"version {claim.enrollment.policy.version}" in body
    assert "6 calendar months" in body and "within 60 days" in body
    assert "31 Aug 2025" in body  # qualified on
    assert "28 Feb 2026" in body and "29 Apr 2026" in body  # deadline, claim deadline
    assert "Data intern" in body
    assert "internship is not a qualifying type of employment" in body
    assert f"pi_{claim.id}_0" in body and f"pi_{claim.id}_1" in body
    assert "Acme Bank" in body
    assert "€1,000.00" in body and "€2,000.00" in body and "€3,000.00" in body
    assert "in proportion to each payment" in body
    assert "made flagged for the test" in body  # the trail
    assert 'name="version" value="1"' in body


def test_claim_page_of_an_unknown_claim_is_404(client, signed_in):
    assert client.get("/finance/claims/999999").status_code == 404


@pytest.mark.parametrize(
    ("state", "refunds", "shown", "hidden"),
    [
        # Owed by the records: approve, not withdraw (withdrawing is for facts that say not owed).
        (S.FLAGGED, (), {"approve", "reject", "review"}, {"withdraw", "retry", "settle"}),
        (S.REJECTED, (), {"review"}, {"approve", "reject", "withdraw", "retry", "settle"}),
        (
            S.FAILED,
            [(RefundState.FAILED, "lost_or_stolen_card")],
            {"retry", "settle"},
            {"approve", "reject", "review", "withdraw"},
        ),
        (
            S.REFUNDED,
            [(RefundState.SUCCEEDED, None)] * 2,
            set(),
            {"approve", "reject", "review", "withdraw", "retry", "settle"},
        ),
    ],
)
def test_claim_page_offers_only_the_decisions_its_state_allows(
    client, signed_in, state, refunds, shown, hidden
):
    claim = claim_in(state, refunds=refunds)

    _, body = page(client, f"/finance/claims/{claim.id}")

    for action in shown:
        assert f'/finance/claims/{claim.id}/{action}"' in body
    for action in hidden:
        assert f'/finance/claims/{claim.id}/{action}"' not in body


def test_a_claim_whose_graduate_has_a_qualifying_job_offers_withdraw_not_approve(client, signed_in):
    claim = claim_in()
    JobOutcomeFactory(graduation=claim.graduation, status=OutcomeStatus.CONFIRMED)

    _, body = page(client, f"/finance/claims/{claim.id}")

    assert f'/finance/claims/{claim.id}/withdraw"' in body
    assert f'/finance/claims/{claim.id}/approve"' not in body


# --- deciding --------------------------------------------------------------------------------


def test_approving_a_claim_below_the_threshold_approves_it_with_refund_rows(
    client, session, signed_in
):
    claim = claim_in()

    response = decide(client, claim, "approve", {"reason": ""})

    assert response.status_code == 303
    state, version, trail, refunds = snapshot(session, claim.id)
    assert state is S.APPROVED and version == 2
    assert trail == [S.FLAGGED, S.APPROVED]
    assert refunds == [RefundState.PENDING, RefundState.PENDING]
    [approval] = session.scalars(select(ClaimApproval).where(ClaimApproval.claim_id == claim.id))
    assert approval.actor == signed_in.actor  # the signed-in person, never a form field
    body = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Approved. The refunds are written" in body
    assert "as written at approval" in body


def test_two_different_finance_users_approve_a_large_claim(client, session, sign_in):
    first, second = UserFactory(role=Role.FINANCE), UserFactory(role=Role.FINANCE)
    claim = claim_in(payments=LARGE)
    sign_in(first)

    response = decide(client, claim, "approve", {"reason": "no job reported"})
    assert response.status_code == 303
    assert snapshot(session, claim.id)[0] is S.AWAITING_SECOND_APPROVAL
    body = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "needs a second approver" in body
    assert f'/finance/claims/{claim.id}/approve"' not in body

    again = decide(client, claim, "approve", {"reason": "sure"}, version=2)
    assert again.status_code == 409
    assert (
        "You approved this claim already in this round; a second person must approve it."
        in again.get_data(as_text=True)
    )
    assert snapshot(session, claim.id)[:2] == (S.AWAITING_SECOND_APPROVAL, 2)

    post_form(client, "/sign-out", token_from="/finance")
    sign_in(second)
    response = decide(client, claim, "approve", {"reason": "checked"}, version=2)

    assert response.status_code == 303
    state, _, trail, refunds = snapshot(session, claim.id)
    assert state is S.APPROVED
    assert trail == [S.FLAGGED, S.AWAITING_SECOND_APPROVAL, S.APPROVED]
    assert len(refunds) == 2
    approvers = session.scalars(
        select(ClaimApproval.actor).where(ClaimApproval.claim_id == claim.id)
    ).all()
    assert approvers == [first.actor, second.actor]


def test_rejecting_without_a_note_for_the_graduate_is_400_and_changes_nothing(
    client, session, signed_in
):
    claim = claim_in()
    before = snapshot(session, claim.id)

    response = decide(
        client,
        claim,
        "reject",
        {"reason": "employer says she turned down an offer", "graduate_note": "  "},
    )

    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Write what the graduate reads: why, in words for them." in body
    assert 'aria-invalid="true"' in body
    assert snapshot(session, claim.id) == before


def test_rejecting_keeps_the_internal_note_apart_from_the_note_for_the_graduate(
    client, session, signed_in
):
    claim = claim_in()

    response = decide(
        client,
        claim,
        "reject",
        {
            "reason": "a qualifying job was confirmed",
            "graduate_note": "Your employer confirmed a qualifying job.",
        },
    )

    assert response.status_code == 303
    session.expire_all()
    [last] = session.scalars(
        select(ClaimTransition)
        .where(ClaimTransition.claim_id == claim.id)
        .order_by(ClaimTransition.id.desc())
        .limit(1)
    )
    assert (last.to_state, last.actor, last.reason, last.graduate_note) == (
        S.REJECTED,
        signed_in.actor,
        "a qualifying job was confirmed",
        "Your employer confirmed a qualifying job.",
    )


def test_every_decision_labels_its_internal_note_and_its_note_for_the_graduate(client, signed_in):
    claim = claim_in()

    page = client.get(f"/finance/claims/{claim.id}").get_data(as_text=True)

    for action in ("approve", "reject", "review"):
        assert (
            f'<label for="{action}-reason">Internal note (staff only, never shown to the graduate)'
            in page
        )
        assert (
            f'<label for="{action}-graduate-note">Note for the graduate (they read it on their'
            " page and in an email)"
        ) in page
    assert ">Reason<" not in page and "Reason for the graduate" not in page


def test_a_decision_on_a_stale_page_is_409_with_a_clear_message(client, session, signed_in):
    claim = claim_in()
    claims.start_review(session, claim.id, actor="finance:someone@else", reason="a closer look")
    session.commit()

    response = decide(client, claim, "approve", {"reason": ""}, version=1)

    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "This claim changed since you opened it" in body
    assert 'name="version" value="2"' in body  # the page now shows the claim as it stands
    assert snapshot(session, claim.id)[:2] == (S.IN_REVIEW, 2)


def test_manual_settlement_of_a_failed_claim_records_the_reference(client, session, signed_in):
    claim = claim_in(
        S.FAILED,
        refunds=[(RefundState.FAILED, "expired_or_canceled_card"), (RefundState.SUCCEEDED, None)],
    )

    response = decide(
        client,
        claim,
        "settle",
        {"transfer_reference": "TRF-2026-0042", "reason": "card expired; paid to the IBAN"},
    )

    assert response.status_code == 303
    state, _, trail, refunds = snapshot(session, claim.id)
    assert state is S.SETTLED_MANUALLY
    assert trail[-1] is S.SETTLED_MANUALLY
    assert sorted(refunds) == sorted([RefundState.SETTLED_MANUALLY, RefundState.SUCCEEDED])
    references = session.scalars(
        select(Refund.manual_reference).where(Refund.claim_id == claim.id).order_by(Refund.id)
    ).all()
    assert references == ["TRF-2026-0042", None]
    body = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "TRF-2026-0042" in body


def test_manual_settlement_without_a_reference_is_400(client, session, signed_in):
    claim = claim_in(S.FAILED, refunds=[(RefundState.FAILED, "lost_or_stolen_card")])
    before = snapshot(session, claim.id)

    response = decide(client, claim, "settle", {"transfer_reference": "", "reason": "paid"})

    assert response.status_code == 400
    assert "Give the bank transfer&#39;s reference." in response.get_data(as_text=True)
    assert snapshot(session, claim.id) == before


def test_retrying_a_failed_claim_sends_its_refunds_again(client, session, signed_in):
    claim = claim_in(S.FAILED, refunds=[(RefundState.FAILED, "processing_error")])

    response = decide(client, claim, "retry", {"reason": "the provider is back"})

    assert response.status_code == 303
    state, _, _, refunds = snapshot(session, claim.id)
    assert state is S.PAYING and refunds == [RefundState.PENDING]


# --- who may see and decide ------------------------------------------------------------------


@pytest.mark.parametrize("who", ["registrar", "graduate_a", "employer_x"])
def test_people_outside_finance_get_403_on_the_pages_and_the_decisions(
    client, session, sign_in, accounts, who
):
    claim = claim_in()
    before = snapshot(session, claim.id)
    sign_in(accounts[who])

    assert client.get("/finance").status_code == 403
    assert client.get(f"/finance/claims/{claim.id}").status_code == 403
    assert decide(client, claim, "approve", {"reason": ""}).status_code == 403
    assert snapshot(session, claim.id) == before


def test_anonymous_visitors_are_sent_to_sign_in(client, session):
    claim = claim_in()

    for path in ("/finance", f"/finance/claims/{claim.id}"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/sign-in" in response.headers["Location"]


def test_a_decision_without_a_csrf_token_is_400(client, session, signed_in):
    claim = claim_in()
    before = snapshot(session, claim.id)

    response = client.post(
        f"/finance/claims/{claim.id}/approve", data={"version": 1, "reason": "ok"}
    )

    assert response.status_code == 400
    assert snapshot(session, claim.id) == before


def test_the_approver_sees_that_the_amount_changed_since_the_claim_was_flagged(
    client, session, signed_in
):
    claim = claim_in(payments=(100_000, 200_000))
    TuitionPaymentFactory(
        enrollment=claim.enrollment,
        amount_minor=100_000,
        paid_at=datetime(2024, 6, 20, 9, 30, tzinfo=UTC),
    )

    _, body = page(client, f"/finance/claims/{claim.id}")

    assert "data-amount-changed" in body
    assert "€4,000.00" in body and "€3,000.00 the claim was flagged for" in body
    response = decide(client, claim, "approve", {"reason": ""})
    assert response.status_code == 303
    session.expire_all()
    assert session.get(RefundClaim, claim.id).amount_minor == 400_000


# --- in French -------------------------------------------------------------------------------

NBSP, NARROW_NBSP = "\u00a0", "\u202f"


@pytest.fixture
def french_reader(sign_in):
    """The test client, signed in as a finance user who reads French."""
    user = UserFactory(role=Role.FINANCE, name="Adèle Martin", locale="fr_FR")
    sign_in(user)
    return user


def test_queue_reads_in_french_for_a_french_reader(client, french_reader):
    flagged = claim_in(payments=LARGE)
    claim_in(S.FAILED, refunds=[(RefundState.FAILED, "expired_or_canceled_card")])

    _, body = page(client, "/finance")

    assert "<h1>Demandes de remboursement</h1>" in body
    assert "À traiter (2)" in body and "Toutes (2)" in body
    assert "Remboursements en échec" in body
    assert "Nom ou e-mail du diplômé" in body
    assert "Télécharger ces demandes (CSV)" in body
    assert f"Ouvrir la demande de {flagged.enrollment.student.name}" in body
    assert f"6{NARROW_NBSP}500,00{NBSP}€" in body
    assert "Needs action" not in body and "Refund claims" not in body


def test_claim_page_reads_in_french_for_a_french_reader(client, french_reader):
    claim = claim_in()

    _, body = page(client, f"/finance/claims/{claim.id}")

    name = claim.enrollment.student.name
    assert f"Demande de {name}" in body
    assert "Montant demandé" in body
    assert "Inscription et conditions de la garantie" in body
    assert "Obligations de recherche" in body
    assert "Paiements et remboursement" in body
    assert "Approuver le remboursement" in body and "Refuser la demande" in body
    assert "Note interne (réservée au personnel, jamais montrée au diplômé)" in body
    assert "Amount claimed" not in body and "Reject the claim" not in body


def test_a_claim_decision_refused_by_its_form_says_why_in_french(client, session, french_reader):
    claim = claim_in()
    before = snapshot(session, claim.id)

    response = decide(client, claim, "reject", {"reason": "offre refusée", "graduate_note": " "})

    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert f"Rien n’a été modifié{NBSP}: corrigez le formulaire ci-dessous." in body
    assert f"Écrivez ce que lit le diplômé{NBSP}: pourquoi, avec des mots pour lui." in body
    assert snapshot(session, claim.id) == before


def test_a_decision_flashes_what_was_done_in_french(client, session, french_reader):
    claim = claim_in()

    response = decide(client, claim, "review", {"reason": "à vérifier"})
    body = client.get(response.headers["Location"]).get_data(as_text=True)

    assert "La demande est en cours d’examen." in body


def test_a_decision_the_refund_rules_refuse_says_why_in_french(client, session, french_reader):
    """A refusal of the refund code itself (not of the form) reads in French too, with the
    claim's state in French."""
    claim = claim_in(S.FAILED, refunds=[(RefundState.FAILED, "lost_or_stolen_card")])
    before = snapshot(session, claim.id)

    settle = decide(client, claim, "settle", {"transfer_reference": " ", "reason": "payé"})
    approve = decide(client, claim, "approve", {"reason": "ok"})

    assert settle.status_code == 400
    assert "Donnez la référence du virement bancaire." in settle.get_data(as_text=True)
    assert approve.status_code == 409
    assert "Une demande «\u00a0en échec\u00a0» ne peut pas être approuvée." in approve.get_data(
        as_text=True
    )
    assert snapshot(session, claim.id) == before


def test_the_history_says_the_systems_notes_in_french_and_typed_notes_as_typed(
    client, session, french_reader
):
    """The notes the sweep and the executor stored in English read in French; a note a person
    typed is shown as they typed it."""
    claim = claim_in()
    for to_state, reason in (
        (S.FLAGGED, str(notes.note(notes.SWEPT, day=IsoDay(2026, 7, 1)))),
        (S.IN_REVIEW, "offre refusée, à vérifier"),
        (S.FAILED, str(notes.note(notes.REFUND_FAILED, payment=12, error="card_declined"))),
        (
            S.IN_REVIEW,
            str(
                notes.note(
                    notes.OBLIGATIONS_NOT_MET,
                    reasons="week 3 (15 Jun 2026 to 21 Jun 2026): 1 of 2 applications",
                )
            ),
        ),
    ):
        session.add(ClaimTransition(
            claim_id=claim.id, from_state=S.FLAGGED, to_state=to_state, actor="system:executor",
            reason=reason, at=datetime(2026, 7, 2, 6, 0, tzinfo=UTC),
        ))  # fmt: skip
    session.flush()

    _, body = page(client, f"/finance/claims/{claim.id}")

    assert "période terminée sans emploi qualifiant (balayage du 1 juil. 2026)" in body
    assert "le remboursement du paiement 12 a échoué : card_declined" in body
    assert "offre refusée, à vérifier" in body
    assert (
        "obligations de recherche non remplies\u00a0: semaine 3 (du 15 juin 2026 au 21 juin 2026)"
        "\u00a0: 1 candidatures sur 2" in body
    )
    assert "window closed without" not in body and "refund of payment" not in body
    assert "search obligations not met" not in body


def test_the_reviews_reasons_read_in_french_each_in_its_words(client, session, french_reader):
    """The review after the sweep lists its reasons in one English note, and voids a claim
    with another: a French reader reads each reason in French, separated as French writes
    them; a note stored before the reasons were sentences reads the same."""
    claim = claim_in()
    offer = DeclinedOffer("Acme; Co (Lyon)", date(2026, 3, 3), date(2026, 3, 5))
    reasons = listed(
        [
            *_week_shortfalls(
                WeekCompliance(
                    3, date(2026, 6, 15), date(2026, 6, 21), 7, 1, 2, True, False, WeekState.MISSED
                ),
                PolicyTerms(coaching_every_weeks=2),
            ),
            Sentence(
                NOT_ANSWERED,
                asked=date(2026, 3, 1),
                due=datetime(2026, 3, 4, 9, tzinfo=UTC),
                within=_days(3),
            ),
            not_voiding(offer),
        ]
    )
    stored_before = (
        "said they stopped looking for work on 01 Apr 2026; offer from an employer received"
        " 02 Feb 2026 reported 12 days later (policy: within 7)"
    )
    for to_state, reason in (
        (S.IN_REVIEW, str(notes.note(notes.OBLIGATIONS_NOT_MET, reasons=reasons))),
        (S.IN_REVIEW, f"search obligations not met: {stored_before}"),
        (S.REJECTED, str(void_reason(offer))),
    ):
        session.add(ClaimTransition(
            claim_id=claim.id, from_state=S.FLAGGED, to_state=to_state, actor="system:sweep",
            reason=reason, at=datetime(2026, 7, 2, 6, 0, tzinfo=UTC),
        ))  # fmt: skip
    session.flush()

    _, body = page(client, f"/finance/claims/{claim.id}")

    offer_fr = "refusé une offre qualifiante de Acme; Co (Lyon) le 5 mars 2026"
    assert (
        "obligations de recherche non remplies\u00a0: "
        "semaine 3 (du 15 juin 2026 au 21 juin 2026)\u00a0: 1 candidatures sur 2\u00a0; "
        "semaine 3 (du 15 juin 2026 au 21 juin 2026)\u00a0: aucun point d’accompagnement"
        " (conditions\u00a0: un toutes les 2 semaines)\u00a0; "
        "question posée le 1 mars 2026 sans réponse\u00a0; la réponse était attendue le"
        " 4 mars 2026, 10:00 (Paris) (conditions\u00a0: sous 3 jours)\u00a0; "
        f"{offer_fr} (les conditions n’annulent pas la demande)"
    ) in body
    assert (
        "obligations de recherche non remplies\u00a0: a déclaré avoir cessé de chercher un emploi"
        " le 1 avr. 2026\u00a0; offre de un employeur reçue le 2 févr. 2026, déclarée 12 jours"
        " plus tard (conditions\u00a0: sous 7)"
    ) in body
    assert f"demande annulée\u00a0: {offer_fr}\u00a0; les conditions annulent la demande" in body
    for english in ("search obligations", "applications", "declined", "policy", "void:"):
        assert english not in body

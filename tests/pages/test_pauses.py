"""Pausing the search on the graduate's page, and the registrar recording pauses and excluded
outcomes on the enrollment page."""

from __future__ import annotations

import html
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.guarantee.rules import guarantee_deadline
from app.guarantee.terms import ExclusionReason, PauseReason
from app.models import ExcludedOutcome, Role, SearchPause
from app.models.base import utc_now
from app.pages.formatting import day
from refunds.states import ClaimState
from tests.factories import (
    AuditedRefundClaimFactory,
    EnrollmentFactory,
    ExcludedOutcomeFactory,
    GraduationFactory,
    GuaranteePolicyFactory,
    SearchPauseFactory,
    UserFactory,
)
from tests.pages.conftest import post_form as post_with_token


def post_form(client, path: str, data: dict | None = None):
    """POST a form as the signed-in person's browser would, with a CSRF token of their page."""
    return post_with_token(
        client, path, data, token_from="/me" if path.startswith("/me") else "/registrar"
    )


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def today() -> date:
    return utc_now().date()


def _graduate(today: date, *, max_pause_days: int = 30):
    """A graduate ten days into a six-month window whose policy counts ``max_pause_days``."""
    enrollment = EnrollmentFactory(policy=GuaranteePolicyFactory(max_pause_days=max_pause_days))
    graduation = GraduationFactory(enrollment=enrollment, qualified_on=today - timedelta(days=10))
    user = UserFactory(role=Role.GRADUATE, student=enrollment.student)
    return user, graduation


def _pause_form(graduation, starts_on: date, ends_on: date, **fields) -> dict:
    prefix = f"pause-{graduation.id}-"
    return {
        f"{prefix}starts_on": starts_on.isoformat(),
        f"{prefix}ends_on": ends_on.isoformat(),
        f"{prefix}reason": fields.get("reason", "illness"),
        f"{prefix}note": fields.get("note", ""),
    }


def _deadline(graduation, paused: int = 0) -> date:
    return guarantee_deadline(graduation.qualified_on, 6, paused_days=paused)


def test_graduate_pauses_their_search_and_sees_the_deadline_move(client, session, sign_in, today):
    user, graduation = _graduate(today)
    sign_in(user)
    page = text_of(client.get("/me"))
    assert "Pause my search" in page and "up to 30 days in all" in page

    starts_on = today + timedelta(days=3)
    response = post_form(
        client,
        f"/me/graduations/{graduation.id}/pauses",
        _pause_form(graduation, starts_on, starts_on + timedelta(days=13), note="Surgery"),
    )

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/me#pauses-{graduation.id}")
    [pause] = session.scalars(select(SearchPause)).all()
    assert (pause.starts_on, pause.reason, pause.note, pause.recorded_by) == (
        starts_on,
        PauseReason.ILLNESS,
        "Surgery",
        user.actor,
    )
    page = text_of(client.get("/me"))
    assert (
        f"Your deadline moved from {day(_deadline(graduation))} to"
        f" {day(_deadline(graduation, 14))}: 14 paused days, up to the policy's 30."
        in " ".join(page.split())
    )
    assert "Call off this pause" in page


def test_pauses_beyond_the_limit_are_shown_with_only_the_counted_days(
    client, session, sign_in, today
):
    user, graduation = _graduate(today, max_pause_days=30)
    SearchPauseFactory(
        graduation=graduation,
        starts_on=today - timedelta(days=5),
        ends_on=today + timedelta(days=34),
    )
    sign_in(user)

    page = " ".join(text_of(client.get("/me")).split())

    assert "Your pauses add up to 40 days, but your policy counts only 30" in page
    assert f"to {day(_deadline(graduation, 30))}: 30 paused days" in page


@pytest.mark.parametrize(
    ("days", "field_error"),
    [
        ((-1, 5), "A pause starts today or later"),  # backdated
        ((5, 2), "A pause cannot end before it starts"),
        ((None, 5), "Enter the first day of the pause."),
    ],
)
def test_a_bad_pause_is_400_with_the_field_error_and_nothing_written(
    client, session, sign_in, today, days, field_error
):
    user, graduation = _graduate(today)
    sign_in(user)
    start, end = days
    data = _pause_form(graduation, today, today + timedelta(days=end))
    data[f"pause-{graduation.id}-starts_on"] = (
        (today + timedelta(days=start)).isoformat() if start is not None else ""
    )

    response = post_form(client, f"/me/graduations/{graduation.id}/pauses", data)

    assert response.status_code == 400
    page = text_of(response)
    assert "Nothing was saved" in page
    assert field_error in page
    assert 'class="field-error"' in page
    assert count(session, SearchPause) == 0


def test_a_pause_under_a_policy_without_pauses_is_refused_and_no_form_is_offered(
    client, session, sign_in, today
):
    user, graduation = _graduate(today, max_pause_days=0)
    sign_in(user)
    assert "Pause my search" not in text_of(client.get("/me"))

    response = post_form(
        client,
        f"/me/graduations/{graduation.id}/pauses",
        _pause_form(graduation, today, today + timedelta(days=3)),
    )

    assert response.status_code == 400
    assert "allows no pauses" in text_of(response)
    assert count(session, SearchPause) == 0


def test_graduate_b_cannot_pause_graduate_as_window(client, session, sign_in, today):
    _user_a, graduation_a = _graduate(today)
    user_b, _graduation_b = _graduate(today)
    sign_in(user_b)

    response = post_form(
        client,
        f"/me/graduations/{graduation_a.id}/pauses",
        _pause_form(graduation_a, today, today + timedelta(days=3)),
    )

    assert response.status_code == 403
    assert count(session, SearchPause) == 0


def test_graduate_b_cannot_call_off_graduate_as_pause(client, session, sign_in, today):
    _user_a, graduation_a = _graduate(today)
    user_b, _graduation_b = _graduate(today)
    pause = SearchPauseFactory(
        graduation=graduation_a,
        starts_on=today + timedelta(days=5),
        ends_on=today + timedelta(days=9),
    )
    sign_in(user_b)

    assert post_form(client, f"/me/pauses/{pause.id}/cancel").status_code == 403
    assert count(session, SearchPause) == 1


def test_graduate_calls_off_a_future_pause_but_not_one_that_has_begun(
    client, session, sign_in, today
):
    user, graduation = _graduate(today)
    begun = SearchPauseFactory(
        graduation=graduation, starts_on=today, ends_on=today + timedelta(days=2)
    )
    future = SearchPauseFactory(
        graduation=graduation,
        starts_on=today + timedelta(days=5),
        ends_on=today + timedelta(days=9),
    )
    sign_in(user)

    refused = post_form(client, f"/me/pauses/{begun.id}/cancel")
    called_off = post_form(client, f"/me/pauses/{future.id}/cancel")

    assert refused.status_code == 409
    assert "has begun already" in text_of(refused)
    assert called_off.status_code == 302
    assert [pause.id for pause in session.scalars(select(SearchPause))] == [begun.id]


def test_an_excluded_graduate_sees_they_are_out_of_the_guarantee(client, session, sign_in, today):
    user, graduation = _graduate(today)
    ExcludedOutcomeFactory(
        graduation=graduation, reason=ExclusionReason.MILITARY_SERVICE, occurred_on=today
    )
    sign_in(user)

    page = " ".join(text_of(client.get("/me")).split())

    assert "out of the guarantee" in page
    assert "military service began on" in page
    assert "Pause my search" not in page


# --- the registrar ---------------------------------------------------------------------------


@pytest.fixture
def registrar(sign_in, session):
    user = UserFactory(role=Role.REGISTRAR)
    sign_in(user)
    return user


def _enrollment_page(graduation) -> str:
    return f"/registrar/enrollments/{graduation.enrollment_id}"


def test_registrar_records_a_past_pause_and_sees_the_window_move(client, session, registrar, today):
    _user, graduation = _graduate(today)
    page = text_of(client.get(_enrollment_page(graduation)))
    assert "Record a pause" in page and "Up to 30 days in all" in page

    response = post_form(
        client,
        f"{_enrollment_page(graduation)}/pauses",
        {
            "pause-starts_on": (today - timedelta(days=9)).isoformat(),
            "pause-ends_on": (today - timedelta(days=5)).isoformat(),
            "pause-reason": "parental_leave",
            "pause-note": "Certificate on file",
        },
    )

    assert response.status_code == 302
    [pause] = session.scalars(select(SearchPause)).all()
    assert pause.reason is PauseReason.PARENTAL_LEAVE
    assert pause.recorded_by == registrar.actor
    page = " ".join(text_of(client.get(_enrollment_page(graduation))).split())
    assert f"{day(_deadline(graduation, 5))} (moved from {day(_deadline(graduation))} by 5" in page
    assert "Certificate on file" in page


def test_a_registrar_pause_overlapping_another_is_400_on_its_field(
    client, session, registrar, today
):
    _user, graduation = _graduate(today)
    SearchPauseFactory(graduation=graduation, starts_on=today, ends_on=today + timedelta(days=4))

    response = post_form(
        client,
        f"{_enrollment_page(graduation)}/pauses",
        {
            "pause-starts_on": (today + timedelta(days=4)).isoformat(),
            "pause-ends_on": (today + timedelta(days=8)).isoformat(),
            "pause-reason": "illness",
        },
    )

    assert response.status_code == 400
    page = text_of(response)
    assert 'id="pause-starts_on-error"' in page and "It overlaps the pause" in page
    assert count(session, SearchPause) == 1


def test_registrar_records_an_excluded_outcome_which_withdraws_the_open_claim(
    client, session, registrar, today
):
    _user, graduation = _graduate(today)
    claim = AuditedRefundClaimFactory(graduation=graduation, state=ClaimState.FLAGGED)

    response = post_form(
        client,
        f"{_enrollment_page(graduation)}/exclusion",
        {
            "exclusion-reason": "further_study",
            "exclusion-occurred_on": today.isoformat(),
            "exclusion-evidence": "Enrolment letter UL-2026-118",
        },
    )

    assert response.status_code == 302
    [exclusion] = session.scalars(select(ExcludedOutcome)).all()
    assert (exclusion.reason, exclusion.evidence) == (
        ExclusionReason.FURTHER_STUDY,
        "Enrolment letter UL-2026-118",
    )
    session.refresh(claim)
    assert claim.state is ClaimState.WITHDRAWN
    page = text_of(client.get(_enrollment_page(graduation)))
    assert "Enrolment letter UL-2026-118" in page
    assert "Record an excluded outcome" not in page


@pytest.mark.parametrize(
    ("data", "status", "error"),
    [
        ({"exclusion-evidence": ""}, 400, "Name the document this rests on."),
        ({"exclusion-occurred_on": "not a date"}, 400, "Not a valid date value."),
        ({"exclusion-reason": "holiday"}, 400, "Not a valid choice."),
    ],
)
def test_a_bad_exclusion_is_400_with_the_field_error_and_nothing_written(
    client, session, registrar, today, data, status, error
):
    _user, graduation = _graduate(today)
    form = {
        "exclusion-reason": "death",
        "exclusion-occurred_on": today.isoformat(),
        "exclusion-evidence": "Death certificate 2026/118",
        **data,
    }

    response = post_form(client, f"{_enrollment_page(graduation)}/exclusion", form)

    assert response.status_code == status
    assert error in text_of(response)
    assert count(session, ExcludedOutcome) == 0


def test_an_exclusion_while_the_claim_is_paying_is_409_and_nothing_written(
    client, session, registrar, today
):
    _user, graduation = _graduate(today)
    AuditedRefundClaimFactory(graduation=graduation, state=ClaimState.PAYING)

    response = post_form(
        client,
        f"{_enrollment_page(graduation)}/exclusion",
        {
            "exclusion-reason": "further_study",
            "exclusion-occurred_on": today.isoformat(),
            "exclusion-evidence": "Enrolment letter",
        },
    )

    assert response.status_code == 409
    assert "is paying" in text_of(response)
    assert count(session, ExcludedOutcome) == 0


def test_pauses_and_exclusions_of_an_enrollment_not_yet_graduated_are_refused(
    client, session, registrar
):
    enrollment = EnrollmentFactory(policy=GuaranteePolicyFactory(max_pause_days=30))

    response = post_form(
        client,
        f"/registrar/enrollments/{enrollment.id}/pauses",
        {"pause-starts_on": "2026-01-01", "pause-ends_on": "2026-01-02", "pause-reason": "other"},
    )

    assert response.status_code == 409
    assert "has not qualified yet" in text_of(response)
    assert count(session, SearchPause) == 0

"""Eligibility through the pages: the registrar publishes the terms, records an enrollment's
facts and verifies its prerequisites; the graduate and finance read why someone is not covered."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import func, select

from app.guarantee.terms import WorkAuthorisation
from app.models import (
    AuditEvent,
    Enrollment,
    GuaranteePolicy,
    PolicyPrerequisite,
    PolicySearchArea,
    PrerequisiteVerification,
    Role,
)
from tests.factories import (
    AuditedRefundClaimFactory,
    EnrollmentFactory,
    GraduationFactory,
    GuaranteePolicyFactory,
    ProgrammeFactory,
    StudentFactory,
    UserFactory,
)
from tests.pages.conftest import post_form

DEGREE = "Bachelor's degree, mathematics"
POLICY_FORM = {
    "effective_from": "2026-01-01",
    "window_months": "6",
    "window_starts": "qualification_date",
    "qualifying_types": ["full_time_permanent"],
    "min_contract_months": "6",
    "claim_deadline_days": "60",
}


def post(client, path, data):
    return post_form(client, path, data, token_from="/registrar")


def count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def _seed_policy(**fields) -> GuaranteePolicy:
    return GuaranteePolicyFactory(
        effective_from=date(2024, 1, 1),
        prerequisites=[PolicyPrerequisite(label=DEGREE, position=0)],
        qualify_within_months=12,
        search_areas=[PolicySearchArea(code=code) for code in ("CA", "FR", "GB", "US")],
        requires_work_authorisation=True,
        **fields,
    )


def test_registrar_publishes_a_policy_with_eligibility_terms(client, session, sign_in):
    sign_in(UserFactory(role=Role.REGISTRAR))
    programme = ProgrammeFactory()
    session.flush()

    response = post(
        client,
        f"/registrar/programmes/{programme.id}/policies",
        {
            **POLICY_FORM,
            "prerequisites": f"{DEGREE}\r\n\r\nAdmission test passed\r\n",
            "qualify_within_months": "12",
            "search_areas": "us, gb ca FR",
            "requires_work_authorisation": "y",
        },
    )

    assert response.status_code == 302
    session.expire_all()
    terms = session.scalars(select(GuaranteePolicy)).one().terms()
    assert terms.prerequisites == (DEGREE, "Admission test passed")
    assert terms.qualify_within_months == 12
    assert terms.search_areas == {"US", "GB", "CA", "FR"}
    assert terms.requires_work_authorisation
    assert not terms.remote_abroad_counts  # an unticked box is false
    page = client.get(f"/registrar/programmes/{programme.id}").get_data(as_text=True)
    assert (
        "verified: Bachelor&#39;s degree, mathematics; Admission test passed; qualify within 12"
        " months of starting; search in CA, FR, GB, US, remote jobs for employers elsewhere do"
        " not count; work authorisation required"
    ) in page


def test_a_policy_naming_an_unknown_country_is_refused_on_that_field(client, session, sign_in):
    sign_in(UserFactory(role=Role.REGISTRAR))
    programme = ProgrammeFactory()
    session.flush()

    response = post(
        client,
        f"/registrar/programmes/{programme.id}/policies",
        {**POLICY_FORM, "search_areas": "FR XX"},
    )

    assert response.status_code == 400
    assert "&#39;XX&#39; is neither an ISO country code nor a region (EU)" in response.get_data(
        as_text=True
    )
    assert count(session, GuaranteePolicy) == 0


def test_registrar_enrolls_records_eligibility_and_verifies_the_prerequisite_once(
    client, session, sign_in
):
    registrar = UserFactory(role=Role.REGISTRAR)
    sign_in(registrar)
    policy = _seed_policy()
    student = StudentFactory(country="FR")
    session.flush()

    response = post(
        client,
        "/registrar/enrollments",
        {
            "enrollment-student_email": student.email,
            "enrollment-programme_id": str(policy.programme_id),
            "enrollment-signed_on": "2024-03-01",
            "enrollment-guarantee_opt_in": "y",
            "enrollment-studies_started_on": "2024-03-04",
            "enrollment-search_country": "ca",
            "enrollment-work_authorisation": "no",
            "enrollment-study_country": "us",
            "enrollment-study_work_authorisation": "yes",
        },
    )
    assert response.status_code == 302
    enrollment = session.scalars(select(Enrollment)).one()
    assert (
        enrollment.studies_started_on,
        enrollment.search_country,
        enrollment.work_authorisation,
        enrollment.study_country,
        enrollment.study_work_authorisation,
    ) == (date(2024, 3, 4), "CA", WorkAuthorisation.NO, "US", WorkAuthorisation.YES)

    path = f"/registrar/enrollments/{enrollment.id}"
    bad = post(client, f"{path}/eligibility", {"eligibility-search_country": "Canada"})
    assert bad.status_code == 400
    assert "Enter a two-letter country code" in bad.get_data(as_text=True)
    fixed = post(
        client,
        f"{path}/eligibility",
        {
            "eligibility-studies_started_on": "2024-03-04",
            "eligibility-search_country": "GB",
            "eligibility-work_authorisation": "yes",
            "eligibility-study_country": "fr",
            "eligibility-study_work_authorisation": "no",
        },
    )
    assert fixed.status_code == 302

    [prerequisite] = policy.prerequisites
    verify = f"{path}/prerequisites/{prerequisite.id}/verify"
    field = f"verify-{prerequisite.id}-note"
    assert post(client, verify, {field: "Diploma seen, Lyon 2019"}).status_code == 302
    again = post(client, verify, {field: "twice"})
    assert again.status_code == 409
    session.expire_all()
    [verification] = session.scalars(select(PrerequisiteVerification)).all()
    assert (verification.verified_by, verification.note) == (
        registrar.actor,
        "Diploma seen, Lyon 2019",
    )
    assert enrollment.search_country == "GB"
    assert enrollment.work_authorisation is WorkAuthorisation.YES
    assert (enrollment.study_country, enrollment.study_work_authorisation) == (
        "FR",
        WorkAuthorisation.NO,
    )
    page = client.get(path).get_data(as_text=True)
    assert "No · excluded from the outcomes report's base" in page
    # Each work authorisation names its country: the two facts never read alike.
    facts = re.findall(r"<dt>([^<]*)</dt><dd>([^<]*)", page)
    labels = [label for label, _ in facts]
    assert len(labels) == len(set(labels))
    assert ("Authorised to work in the search country", "Yes · required by the policy") in facts
    assert ("Authorised to work in the country of study", "No · excluded from the outcomes"
            " report's base") in facts  # fmt: skip
    assert session.scalars(
        select(AuditEvent.detail).where(AuditEvent.action == "enrollment.eligibility_recorded")
    ).one() == (
        "studies from 2024-03-04, search in GB, work authorisation yes;"
        " studies in FR, work authorisation no"
    )
    assert "Diploma seen, Lyon 2019" in page
    assert "Not covered" not in page


def _not_covered_graduate(session):
    """A graduate of the seed policy whose degree nobody verified and who may not work in
    France, their search country; their window has closed without a job."""
    enrollment = EnrollmentFactory(
        policy=_seed_policy(),
        studies_started_on=date(2024, 1, 15),
        search_country="FR",
        work_authorisation=WorkAuthorisation.NO,
    )
    return GraduationFactory(enrollment=enrollment, qualified_on=date(2025, 1, 10))


def test_the_graduate_reads_why_they_are_not_covered(client, session, sign_in):
    graduation = _not_covered_graduate(session)
    sign_in(UserFactory(role=Role.GRADUATE, student=graduation.enrollment.student))

    page = client.get("/me").get_data(as_text=True)

    assert "not covered" in page
    assert (
        "The prerequisite \u201cBachelor&#39;s degree, mathematics\u201d was not verified" in page
    )
    assert "Not authorised to work in the search country (FR)" in page
    assert "You did not opt in" not in page


def test_finance_reads_why_a_flagged_graduate_is_not_covered(client, session, sign_in):
    graduation = _not_covered_graduate(session)
    claim = AuditedRefundClaimFactory(graduation=graduation, enrollment=graduation.enrollment)
    covered = GraduationFactory()
    AuditedRefundClaimFactory(graduation=covered, enrollment=covered.enrollment)
    sign_in(UserFactory(role=Role.FINANCE))

    page = client.get(f"/finance/claims/{claim.id}").get_data(as_text=True)

    assert "not covered: " in page
    assert "not authorised to work in the search country (FR)" in page
    queue = client.get("/finance").get_data(as_text=True)
    assert f"/finance/claims/{claim.id}" in queue
    assert queue.count("data-not-covered") == 1

"""The public outcomes page: the figures, the suppression (complementary too), and nothing about
any graduate; staff still see the full report."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from app.guarantee.cirr import CirrStatus, HalfYear
from app.guarantee.disclosure import Relation
from app.guarantee.public_outcomes import (
    ALL,
    CELLS,
    DERIVED,
    RELATIONS,
    GuaranteeOutcome,
    PublicRow,
    publish,
)
from app.models import Role
from app.pages import public, reports
from app.services.public_outcomes import public_report
from refunds.states import ClaimState
from tests.factories import (
    EnrollmentFactory,
    GraduationFactory,
    GuaranteePolicyFactory,
    JobOutcomeFactory,
    ProgrammeFactory,
    RefundClaimFactory,
    SearchActivityFactory,
    StudentFactory,
    UserFactory,
)
from tests.guarantee.test_disclosure import attacker_can_recover

QUALIFIED = date(2026, 3, 30)  # a Monday; the window opens that day, closes 30 Sep 2026
TODAY = date(2027, 1, 15)
PERIOD = "2026-H1"


@pytest.fixture(autouse=True)
def today(monkeypatch):
    monkeypatch.setattr(public, "_today", lambda: TODAY)
    monkeypatch.setattr(reports, "_today", lambda: TODAY)


@pytest.fixture
def cohort(session):
    """The cohort of ``seed_cohort``."""
    return seed_cohort()


def seed_cohort():
    """Data science (EUR): 12 placed in full-time jobs on day 20 (€50,000 to €61,000), 10 still
    seeking (owed, 4 of them refunded), 2 non-reporting (owed). Web development (GBP): 11 placed
    on day 40, 3 still seeking. Students are named ``Student <n>``."""
    programmes = {
        "ds": ProgrammeFactory(name="Data science", currency="EUR"),
        "web": ProgrammeFactory(name="Web development", currency="GBP"),
    }
    policies = {key: GuaranteePolicyFactory(programme=p) for key, p in programmes.items()}
    counter = iter(range(1000))

    def graduate(key):
        enrollment = EnrollmentFactory(
            student=StudentFactory(
                name=f"Student {next(counter)}", email=f"student{next(counter)}@example.org"
            ),
            policy=policies[key],
            expected_graduation_on=QUALIFIED,
        )
        return GraduationFactory(enrollment=enrollment, qualified_on=QUALIFIED)

    def placed(key, day, salary):
        start = QUALIFIED + timedelta(days=day)
        JobOutcomeFactory(
            graduation=graduate(key),
            start_date=start,
            annual_salary_minor=salary,
            salary_currency=programmes[key].currency,
            created_at=datetime(start.year, start.month, start.day, 12, tzinfo=UTC),
        )

    def seeking(key):
        graduation = graduate(key)
        SearchActivityFactory(graduation=graduation, occurred_on=QUALIFIED + timedelta(days=3))
        return graduation

    for n in range(12):
        placed("ds", 20, 5_000_000 + n * 100_000)
    for n in range(10):
        graduation = seeking("ds")
        if n < 4:
            RefundClaimFactory(
                graduation=graduation, state=ClaimState.REFUNDED, deadline=date(2026, 9, 30)
            )
    for _ in range(2):
        graduate("ds")
    for _ in range(11):
        placed("web", 40, 4_000_000)
    for _ in range(3):
        seeking("web")
    return programmes


def published(page: str) -> tuple[dict, set]:
    """The counts the page shows, by (programme key, cell), and the hidden ones."""
    shown, hidden = {}, set()
    for key, name, suppressed, value in re.findall(
        r'data-cell="([^:"]+):([^"]+)"( data-suppressed)?>([^<]*)<', page
    ):
        cell = (key, name)
        if suppressed:
            hidden.add(cell)
        else:
            shown[cell] = int(value)
    return shown, hidden


def test_public_page_needs_no_sign_in_and_shows_each_programmes_figures(client, cohort):
    response = client.get(f"/outcomes?period={PERIOD}")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    shown, hidden = published(page)
    ds = str(cohort["ds"].id)
    assert shown[ds, "enrolled"] == shown[ds, "graduated"] == shown[ds, "covered"] == 24
    assert shown[ds, "1B"] == 0
    assert shown[ALL, "enrolled"] == 38
    assert shown[ALL, "1A"] == shown[ALL, "employed_in_field"] == 23
    assert shown[ALL, "placed"] == 23
    assert f'data-rate="{ds}:graduation_rate">100.0%' in page
    assert f'data-median-days="{ds}">20<' in page
    assert f'data-median-salary="{ds}">€55,500.00<' in page
    # Web development: 11 placed, on day 40; 3 still seeking is too few to show.
    web = str(cohort["web"].id)
    assert (web, "3A") in hidden
    assert f'data-median-days="{web}">40<' in page
    assert "How these figures are counted" in page
    assert "Sign out" not in page


def test_small_counts_are_hidden_with_their_complements_and_none_can_be_worked_out(
    client, cohort, session
):
    page = client.get(f"/outcomes?period={PERIOD}").get_data(as_text=True)
    shown, hidden = published(page)
    ds, web = str(cohort["ds"].id), str(cohort["web"].id)

    # The two non-reporting graduates, the four refunds and the three seeking: each hidden...
    assert {(ds, "4"), (ds, "refunded"), (web, "3A")} <= hidden
    # ... and subtracting the shown statuses from "graduates not excluded" no longer gives
    # them: another status of the row is hidden too.
    assert len([cell for cell in hidden if cell[0] == ds and cell[1] in ("1A", "3A", "4")]) >= 2
    # Rebuild the table as a reader would, from the page and the published definitions, and
    # try to recover every hidden count.
    keys = {ds, web, ALL}
    relations = [
        Relation((key, total), tuple((key, part) for part in parts))
        for key in keys
        for total, parts in (*RELATIONS, *DERIVED.items())
        if total in CELLS or (key, total) in shown
    ] + [Relation((ALL, name), ((ds, name), (web, name))) for name in CELLS]
    derived_hidden = {cell for cell in hidden if cell[1] in DERIVED}
    hidden -= derived_hidden  # sums of hidden counts: not counts of their own
    assert {cell for r in relations for cell in r.members} == set(shown) | hidden
    # The attacker is told the true small counts' places; still nothing is recovered.
    truth = {**shown, **_true_hidden_counts(session, hidden)}
    assert attacker_can_recover(truth, relations, hidden, 10) == []


def _true_hidden_counts(session, hidden):
    # A threshold of 1 hides nothing: the figures before disclosure control.
    report = public_report(session, HalfYear(2026, 1), TODAY, threshold=1)
    figures = {str(p.programme_id): p.figures for p in report.programmes}
    figures[ALL] = report.totals.figures
    return {(key, name): figures[key].counts[name] for key, name in hidden}


def test_public_page_reveals_nothing_about_a_graduate(client, cohort, session):
    page = client.get(f"/outcomes?period={PERIOD}").get_data(as_text=True)

    assert "Student " not in page
    assert "@example.org" not in page
    assert "/reports/" not in page and "/registrar/" not in page
    assert "figure=" not in page  # no drill-down


def test_staff_keep_the_unsuppressed_report_with_its_drill_down(client, sign_in, cohort):
    sign_in(UserFactory(role=Role.FINANCE))
    page = client.get(f"/reports/outcomes?period={PERIOD}").get_data(as_text=True)

    assert "figure=4" in page
    assert re.search(r"figure=4[^>]*>2<", page)


def test_the_threshold_is_a_setting(client, app, cohort):
    app.config["PUBLIC_REPORT_THRESHOLD"] = 2
    shown, hidden = published(client.get(f"/outcomes?period={PERIOD}").get_data(as_text=True))

    assert shown[str(cohort["ds"].id), "4"] == 2
    assert shown[str(cohort["web"].id), "3A"] == 3


def test_a_programmes_own_page_shows_what_the_all_programmes_page_does(client, cohort):
    ds = str(cohort["ds"].id)
    everything, _ = published(client.get(f"/outcomes?period={PERIOD}").get_data(as_text=True))
    own, _ = published(client.get(f"/outcomes/{ds}?period={PERIOD}").get_data(as_text=True))

    assert own == {cell: value for cell, value in everything.items() if cell[0] == ds}


def test_a_cohort_of_only_small_counts_is_withheld_whole_in_english_and_french(
    client, app, session
):
    """Two programmes of one graduate each, at a threshold of 3: the all-programmes counts (2)
    rest on two counts of at least 1, so hiding is not enough; every figure is withheld."""
    for name, currency, days in (("Data science", "EUR", 20), ("Web development", "GBP", 40)):
        policy = GuaranteePolicyFactory(programme=ProgrammeFactory(name=name, currency=currency))
        enrollment = EnrollmentFactory(policy=policy, expected_graduation_on=QUALIFIED)
        graduation = GraduationFactory(enrollment=enrollment, qualified_on=QUALIFIED)
        start = QUALIFIED + timedelta(days=days)
        JobOutcomeFactory(
            graduation=graduation,
            start_date=start,
            annual_salary_minor=5_000_000,
            salary_currency=currency,
            created_at=datetime(start.year, start.month, start.day, 12, tzinfo=UTC),
        )
    app.config["PUBLIC_REPORT_THRESHOLD"] = 3

    report = public_report(session, HalfYear(2026, 1), TODAY, threshold=3)
    assert report.withheld
    for item in (*report.programmes, report.totals):
        assert set(item.figures.counts.values()) == {None}  # zeros too
        assert item.figures.median_days_to_job is None and item.median_salary_minor is None

    page = client.get(f"/outcomes?period={PERIOD}").get_data(as_text=True)
    assert "No figure is published for this half-year" in page
    assert "data-withheld" in page
    assert published(page) == ({}, set())
    assert "data-median" not in page

    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr"
    french = client.get(f"/outcomes?period={PERIOD}").get_data(as_text=True)
    assert "Aucun chiffre n’est publié pour ce semestre" in french
    assert "No figure is published" not in french


def test_refunds_pinned_however_hidden_are_withheld_and_the_rest_shown():
    """Five placed and three owed graduates per programme, one of them refunded, at a threshold
    of 3: the two refunds (1 and 1, 2 in all) are pinned however hidden, so the refunds are
    withheld, all of them; the statuses and the guarantee's figures, joined to them by no
    relation, are shown, and so are the medians."""

    def rows(programme: int) -> list[PublicRow]:
        placed = PublicRow(
            programme,
            True,
            status=CirrStatus.FULL_TIME_EMPLOYEE,
            guarantee=GuaranteeOutcome.PLACED,
            days_to_job=9,
        )
        owed = PublicRow(
            programme, True, status=CirrStatus.STILL_SEEKING, guarantee=GuaranteeOutcome.OWED
        )
        return [placed] * 5 + [owed] * 2 + [replace(owed, refunded=True)]

    published = publish({1: rows(1), 2: rows(2)}, 3)

    for figures in published.values():
        assert not figures.withheld
        assert figures.counts["refunded"] is None
        assert figures.median_days_to_job == 9
    assert published[ALL].counts["refunded"] is None
    assert published[1].counts[CirrStatus.FULL_TIME_EMPLOYEE.value] == 5
    assert published[ALL].counts["enrolled"] == 16
    assert published[ALL].counts[GuaranteeOutcome.OWED.value] == 6


def test_a_table_with_nothing_but_zeros_left_to_show_hides_its_medians_too():
    """Three placed graduates in one programme at a threshold of 4: every count is small, so
    only zeros would be left; the whole table is withheld, the median with it."""
    placed = PublicRow(
        1,
        True,
        status=CirrStatus.FULL_TIME_EMPLOYEE,
        guarantee=GuaranteeOutcome.PLACED,
        days_to_job=9,
    )

    published = publish({1: [placed] * 3}, 4)

    for figures in published.values():
        assert figures.withheld
        assert set(figures.counts.values()) == {None}
        assert figures.median_days_to_job is None


def test_a_cohort_with_figures_to_show_is_not_withheld(client, cohort):
    page = client.get(f"/outcomes?period={PERIOD}").get_data(as_text=True)

    assert "data-withheld" not in page


def test_a_bad_period_or_programme_is_refused(client, cohort):
    bad = client.get("/outcomes?period=2026-H3")
    assert bad.status_code == 400
    assert "is not a half-year" in bad.get_data(as_text=True)
    assert client.get("/outcomes/999999?period=2026-H1").status_code == 404
    assert client.get("/outcomes/99999999999999999999").status_code == 404
    for edge in ("0001-H1", "9999-H2"):
        assert client.get(f"/outcomes?period={edge}").status_code == 200
    empty = client.get("/outcomes?period=2019-H1")
    assert empty.status_code == 200
    assert "No graduates to report" in empty.get_data(as_text=True)

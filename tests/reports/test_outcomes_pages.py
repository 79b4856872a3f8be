"""The outcomes report pages: figures, chart, drill-down and CSV exports, on the hand-built cohort.

Every status date of the cohort is before 22 Nov 2026, so the pages (which use today) show the
same final figures whenever the tests run.
"""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import date

import pytest

from app.guarantee.cirr import CirrStatus
from app.guarantee.terms import WorkAuthorisation
from app.models import Role
from app.pages import reports
from app.services import outcomes_report as report_service
from tests.factories import UserFactory

PERIOD = "2026-H1"


@pytest.fixture
def finance(client, sign_in):
    sign_in(UserFactory(role=Role.FINANCE))
    return client


def _csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def _named(page: str) -> set[str]:
    """The graduates a drill-down page lists (the first cell of each row)."""
    return {
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(r'<th scope="row">\s*(.*?)\s*<br>', page, flags=re.S)
    }


def test_report_page_shows_each_programme_the_chart_and_links_to_every_figure(finance, cohort):
    response = finance.get(f"/reports/outcomes?period={PERIOD}")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Graduate outcomes, 2026-H1" in page
    assert "Provisional" not in page
    ds = cohort["programmes"]["ds"].id
    # Data science: 4 of 7 employed in field, 1 of 7 full-time, median €40,000.00.
    assert (
        f'href="/reports/outcomes/graduates?period=2026-H1&amp;figure=employed_in_field'
        f'&amp;programme={ds}">4</a> of <a href="/reports/outcomes/graduates?period=2026-H1'
        f'&amp;figure=base&amp;programme={ds}">7</a>\n<strong>(57.1%)</strong>'
    ) in page
    assert "<strong>(14.3%)</strong>" in page
    assert "€40,000.00" in page
    assert "£37,500.50" in page  # web development's median
    assert page.count("<svg") == 1
    assert '<title id="outcomes-chart-title">Graduates of 2026-H1 by CIRR status' in page
    assert "Data science: 7 graduates, 1 1A; 1 1B; 1 1C; 1 1E; 1 2B; 1 3A; 1 4." in page
    assert "<script" not in page
    assert 'href="/reports/outcomes"' in page  # the menu entry


def test_report_page_without_a_period_shows_the_latest_complete_half_year(
    finance, cohort, monkeypatch
):
    monkeypatch.setattr(reports, "_today", lambda: date(2027, 1, 15))

    page = finance.get("/reports/outcomes").get_data(as_text=True)

    assert "Graduate outcomes, 2026-H1" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("figure=full_time", {"Ada", "Ned", "Oli"}),
        ("figure=3A&programme={web}", {"Leo", "Mia"}),
        ("figure=excluded", {"Jon", "Kim"}),
        ("figure=salary_left_out&programme={web}", {"Oli"}),
        ("figure=employed_in_field&programme={ds}", {"Ada", "Ben", "Cleo", "Dan"}),
        ("figure=1D", set()),
    ],
)
def test_drill_down_lists_the_graduates_behind_a_figure(finance, cohort, query, expected):
    ids = {key: programme.id for key, programme in cohort["programmes"].items()}

    response = finance.get(f"/reports/outcomes/graduates?period={PERIOD}&{query.format(**ids)}")

    assert response.status_code == 200
    assert _named(response.get_data(as_text=True)) == expected


def test_drill_down_pages_keep_the_filters_and_together_list_every_graduate_once(
    finance, cohort, monkeypatch
):
    monkeypatch.setattr(report_service, "DRILL_DOWN_PAGE_SIZE", 3)
    web = cohort["programmes"]["web"].id
    query = f"period={PERIOD}&programme={web}&figure=enrolled"

    pages = [
        finance.get(f"/reports/outcomes/graduates?{query}&page={number}").get_data(as_text=True)
        for number in (1, 2, 3, 4)
    ]

    listed = [_named(page) for page in pages[:3]]
    assert [len(names) for names in listed] == [3, 3, 3]
    assert set.union(*listed) == {"Ivy", "Jon", "Kim", "Leo", "Mia", "Ned", "Oli", "Quinn", "Pia"}
    assert "<strong>9</strong> enrollments" in pages[0]
    assert "Page 1 of 3" in pages[0]
    next_link = re.search(r'href="([^"]+)">Next page', pages[0]).group(1).replace("&amp;", "&")
    assert next_link.startswith("/reports/outcomes/graduates?")
    assert {f"period={PERIOD}", f"programme={web}", "figure=enrolled", "page=2"} == set(
        next_link.split("?", 1)[1].split("&")
    )
    # Past the last page: the last page, not an empty one.
    assert _named(pages[3]) == listed[2]


def test_drill_down_shows_the_status_source_and_job_behind_each_graduate(finance, cohort):
    ds = cohort["programmes"]["ds"].id

    page = finance.get(
        f"/reports/outcomes/graduates?period={PERIOD}&programme={ds}&figure=1A"
    ).get_data(as_text=True)

    assert "Data scientist at Acme Analytics" in page
    assert "€52,000.00" in page
    assert "employer" in page and "confirmed by the employer" in page
    enrollment = cohort["people"]["Ada"].id
    assert f'href="/registrar/enrollments/{enrollment}"' in page


def test_admin_sees_the_drill_down_without_links_to_records_they_may_not_open(
    client, sign_in, cohort
):
    sign_in(UserFactory(role=Role.ADMIN))

    page = client.get(f"/reports/outcomes/graduates?period={PERIOD}&figure=1A").get_data(
        as_text=True
    )

    assert _named(page) == {"Ada", "Ned", "Oli"}
    assert "/registrar/enrollments/" not in page


def test_figures_csv_has_a_line_per_programme_and_one_for_all(finance, cohort):
    response = finance.get(f"/reports/outcomes.csv?period={PERIOD}")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="outcomes-2026-H1.csv"'
    )
    ds, web, everyone = _csv(response)
    assert ds["programme"] == "Data science" and ds["currency"] == "EUR"
    assert (ds["enrolled"], ds["graduated"], ds["graduation_rate_percent"]) == ("8", "7", "87.5")
    assert (ds["employed_in_field"], ds["employed_in_field_rate_percent"]) == ("4", "57.1")
    assert (ds["full_time"], ds["full_time_rate_percent"]) == ("1", "14.3")
    assert (ds["median_salary_minor"], ds["median_salary"]) == ("4000000", "40000.00")
    assert (ds["status_1E"], ds["status_4"], ds["status_excluded"]) == ("1", "1", "0")
    assert (web["excluded"], web["base"], web["employed_in_field_rate_percent"]) == (
        "2",
        "6",
        "50.0",
    )
    assert (web["median_salary_minor"], web["salaries_left_out"]) == ("3750050", "1")
    assert everyone["programme"] == "All programmes"
    assert (everyone["enrolled"], everyone["graduated"], everyone["base"]) == ("17", "15", "13")
    assert (everyone["employed_in_field"], everyone["full_time"]) == ("7", "3")
    assert everyone["median_salary_minor"] == "" and everyone["currency"] == ""
    assert {line["provisional"] for line in (ds, web, everyone)} == {"no"}


def test_graduates_csv_lists_every_enrollment_with_its_status_source_and_job(finance, cohort):
    response = finance.get(f"/reports/outcomes/graduates.csv?period={PERIOD}")

    assert response.status_code == 200
    lines = {line["student"]: line for line in _csv(response)}
    assert len(lines) == 17
    assert lines["Ada"]["status"] == "1A" and lines["Ada"]["verification_source"] == "employer"
    assert lines["Ada"]["annual_salary_minor"] == "5200000"
    assert lines["Ada"]["in_salary_median"] == "yes"
    assert lines["Ben"]["employment_type"] == "internship"
    assert lines["Cleo"]["in_salary_median"] == "no"
    assert lines["Finn"]["status"] == "3A" and lines["Finn"]["verification_source"] == ""
    assert lines["Hana"]["status"] == "" and lines["Hana"]["status_label"] == "not graduated"
    assert lines["Leo"]["job_title"] == ""  # his day-181 job is not counted
    assert lines["Jon"]["excluded_because"] == "intent at enrollment: further study"
    assert lines["Kim"]["excluded_because"] == "military service from 2026-05-01"
    assert lines["Gus"]["excluded_because"] == ""  # his exclusion came after day 180
    assert lines["Ned"]["expected_graduation_on"] == ""
    assert lines["Ned"]["qualified_on"] == "2026-04-15"
    assert lines["Ned"]["status_date"] == "2026-10-12"


def test_graduates_not_authorised_to_work_where_they_studied_are_excluded_and_say_why(
    finance, cohort, session
):
    people = cohort["people"]
    for name in ("Ada", "Jon", "Kim"):
        people[name].study_country = "US"
        people[name].study_work_authorisation = WorkAuthorisation.NO
    people["Ben"].study_work_authorisation = WorkAuthorisation.UNKNOWN
    session.flush()

    lines = {
        line["student"]: line
        for line in _csv(finance.get(f"/reports/outcomes/graduates.csv?period={PERIOD}"))
    }
    page = html.unescape(
        finance.get(f"/reports/outcomes/graduates?period={PERIOD}&figure=excluded").get_data(
            as_text=True
        )
    )
    figures = {
        line["programme"]: line
        for line in _csv(finance.get(f"/reports/outcomes.csv?period={PERIOD}"))
    }

    # Ada's confirmed full-time job no longer counts: she is out of the base.
    assert (lines["Ada"]["status"], lines["Ada"]["excluded_because"]) == (
        "excluded",
        "not authorised to work in US, the country of study",
    )
    assert "not authorised to work in US, the country of study" in page
    # The intent is the first reason, the work authorisation comes before an excluded outcome.
    assert lines["Jon"]["excluded_because"] == "intent at enrollment: further study"
    assert lines["Kim"]["excluded_because"] == (
        "not authorised to work in US, the country of study"
    )
    # Unknown takes nobody out.
    assert (lines["Ben"]["status"], lines["Ben"]["excluded_because"]) == ("1B", "")
    assert figures["Data science"]["base"] == "6"


def test_every_figure_of_the_csv_is_the_number_of_graduates_its_drill_down_lists(finance, cohort):
    figures = {
        line["programme"]: line
        for line in _csv(finance.get(f"/reports/outcomes.csv?period={PERIOD}"))
    }
    columns = {
        "enrolled": "enrolled",
        "graduated": "graduated",
        "base": "base",
        "employed_in_field": "employed_in_field",
        "full_time": "full_time",
        "salary": "salaries_counted",
        "salary_left_out": "salaries_left_out",
        "excluded": "excluded",
        **{s.value: f"status_{s.value}" for s in CirrStatus if s is not CirrStatus.EXCLUDED},
    }
    for key, programme in [*cohort["programmes"].items(), ("all", None)]:
        name = programme.name if programme else "All programmes"
        for figure, column in columns.items():
            query = (
                f"period={PERIOD}&figure={figure}&programme={programme.id if programme else 'all'}"
            )
            rows = _csv(finance.get(f"/reports/outcomes/graduates.csv?{query}"))
            assert len(rows) == int(figures[name][column]), (key, figure)


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/reports/outcomes?period=2026-H3", "period: “2026-H3” is not a half-year"),
        ("/reports/outcomes?period=last", "for example 2026-H1"),
        ("/reports/outcomes/graduates?figure=placed", "figure: “placed” is not a figure"),
        ("/reports/outcomes/graduates?programme=data", "programme: “data” is not a programme id"),
        ("/reports/outcomes.csv?period=2026", "period: “2026” is not a half-year"),
        ("/reports/outcomes/graduates.csv?figure=9Z", "figure: “9Z” is not a figure"),
    ],
)
def test_a_bad_query_is_a_400_that_says_what_is_wrong(finance, path, reason):
    response = finance.get(path)

    assert response.status_code == 400
    assert reason in response.get_data(as_text=True)


def test_an_unknown_programme_is_a_404(finance):
    assert finance.get("/reports/outcomes/graduates?programme=987654").status_code == 404
    assert finance.get("/reports/outcomes/graduates.csv?programme=987654").status_code == 404


@pytest.mark.parametrize("role", [Role.FINANCE, Role.REGISTRAR, Role.ADMIN])
def test_staff_have_the_outcomes_report_in_their_menu(client, sign_in, role):
    sign_in(UserFactory(role=role))

    page = client.get("/reports/outcomes").get_data(as_text=True)

    assert '<a href="/reports/outcomes" aria-current="page">Outcomes</a>' in page


def test_a_graduate_may_not_see_the_report(client, sign_in, cohort):
    graduate = UserFactory(role=Role.GRADUATE, student=cohort["people"]["Ada"].student)
    sign_in(graduate)

    assert client.get(f"/reports/outcomes/graduates.csv?period={PERIOD}").status_code == 403


def test_graduates_csv_never_hands_a_spreadsheet_a_formula(finance, cohort, session):
    student = cohort["people"]["Ada"].student
    student.name = '=HYPERLINK("http://evil.example","Ada")'
    session.flush()

    response = finance.get(f"/reports/outcomes/graduates.csv?period={PERIOD}")

    names = [line["student"] for line in _csv(response)]
    assert '\'=HYPERLINK("http://evil.example","Ada")' in names
    assert not any(name.startswith(("=", "+", "-", "@")) for name in names)


@pytest.fixture
def french_finance(client, sign_in):
    sign_in(UserFactory(role=Role.FINANCE, locale="fr_FR"))
    return client


def test_report_page_reads_in_french_for_a_french_reader(french_finance, cohort):
    page = french_finance.get(f"/reports/outcomes?period={PERIOD}").get_data(as_text=True)

    assert "Résultats d’insertion, 2026-H1" in page
    assert "Insertion par formation" in page
    assert "En emploi dans le domaine sous 180 jours" in page
    assert "Salarié à temps plein, dans le domaine" in page  # the 1A label
    assert "<strong>(57,1\u00a0%)</strong>" in page
    assert "40\u202f000,00\u00a0€" in page
    assert "Comment chaque chiffre est compté" in page
    assert "Graduate outcomes" not in page and "Full-time employee, in field" not in page


def test_drill_down_reads_in_french_for_a_french_reader(french_finance, cohort):
    ds = cohort["programmes"]["ds"].id

    page = french_finance.get(
        f"/reports/outcomes/graduates?period={PERIOD}&programme={ds}&figure=1A"
    ).get_data(as_text=True)

    assert "<h1>1A: Salarié à temps plein, dans le domaine</h1>" in page
    assert "Data scientist chez Acme Analytics" in page
    assert "52\u202f000,00\u00a0€" in page
    assert "confirmé par l’employeur" in page
    assert "Télécharger ces lignes (CSV)" in page
    assert "Job counted" not in page


def test_why_a_graduate_is_excluded_reads_in_french_in_the_drill_down(french_finance, cohort):
    """The reason is said in French on the page; the CSV keeps its English (tested above)."""
    page = french_finance.get(f"/reports/outcomes/graduates?period={PERIOD}&figure=excluded")
    text = html.unescape(page.get_data(as_text=True))

    assert "intention à l’inscription\u00a0: poursuite d’études" in text
    assert "service militaire depuis le 1 mai 2026" in text
    assert "intent at enrollment" not in text and "military service from" not in text


def test_no_work_authorisation_where_they_studied_reads_in_french(french_finance, cohort, session):
    cohort["people"]["Ada"].study_country = "CA"
    cohort["people"]["Ada"].study_work_authorisation = WorkAuthorisation.NO
    session.flush()

    page = french_finance.get(f"/reports/outcomes/graduates?period={PERIOD}&figure=excluded")
    text = html.unescape(page.get_data(as_text=True))

    assert "pas d’autorisation de travail dans le pays des études (CA)" in text
    assert "the country of study" not in text


def test_a_bad_query_says_what_is_wrong_in_french(french_finance):
    response = french_finance.get("/reports/outcomes?period=2026-H3")

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Ces résultats ne peuvent pas être affichés" in page
    assert "period\u00a0: «\u00a02026-H3\u00a0» n’est pas un semestre" in page

"""A graduate in Quebec, whose browser asks for Canadian French, reads their page in French, with
amounts, dates and deadlines as Quebec writes them, and types a salary the French way.

The sign-in form is found by its fields' names, not their labels: whatever language it speaks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from playwright.sync_api import expect
from sqlalchemy import select

from app.guarantee.rules import guarantee_deadline
from app.guarantee.terms import EmploymentType
from app.models import JobOutcome, Role
from app.models.base import utc_now
from tests.browser.conftest import Window
from tests.factories import (
    TEST_PASSWORD,
    EnrollmentFactory,
    GraduationFactory,
    GuaranteePolicyFactory,
    ProgrammeFactory,
    SchoolRequestFactory,
    StudentFactory,
    TuitionPaymentFactory,
    UserFactory,
)

#: What a browser set to Canadian French sends, and where its reader lives.
QUEBEC = {"locale": "fr-CA", "extra_http_headers": {"Accept-Language": "fr-CA,fr;q=0.9"}}
TORONTO = ZoneInfo("America/Toronto")
NBSP = "\u00a0"


@dataclass(frozen=True)
class QuebecGraduate:
    email: str
    graduation_id: int
    asked_at: datetime
    deadline: date


def seed_quebec_graduate() -> QuebecGraduate:
    """A graduate searching in Canada (no locale or time zone chosen on their account), whose
    tuition of 6 500 $ is refundable, with a question from the school to answer within 2 days."""
    today = utc_now().date()
    programme = ProgrammeFactory(name="Science des données", currency="CAD")
    policy = GuaranteePolicyFactory(
        programme=programme, min_annual_salary_minor=4_000_000, answer_within_days=2
    )
    enrollment = EnrollmentFactory(policy=policy, student=StudentFactory(country="CA"))
    TuitionPaymentFactory(enrollment=enrollment, amount_minor=650_000)
    graduation = GraduationFactory(enrollment=enrollment, qualified_on=today - timedelta(days=10))
    # Asked yesterday at 22:30 UTC: due tomorrow at 22:30 UTC, which is evening in Toronto.
    asked_at = datetime.combine(today - timedelta(days=1), time(22, 30), tzinfo=UTC)
    SchoolRequestFactory(
        graduation=graduation, asked_at=asked_at, question="Où avez-vous postulé ?"
    )
    user = UserFactory(role=Role.GRADUATE, student=enrollment.student, locale=None, time_zone=None)
    deadline = guarantee_deadline(
        graduation.qualified_on, policy.window_months, policy.window_starts
    )
    return QuebecGraduate(user.email, graduation.id, asked_at, deadline)


def sign_in(window: Window, email: str) -> None:
    """Sign in through the form (a graduate has no second factor) and open /me."""
    page = window.page
    window.visit("/sign-in", "sign-in-form")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(TEST_PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_load_state()
    window.visit("/me", "me")


def open_report_form(window: Window) -> None:
    page = window.page
    page.get_by_role("link", name="Déclarer un emploi ou une offre").click()
    expect(page.get_by_role("heading", name="Déclarer un emploi ou une offre")).to_be_visible()


def fill_job(window: Window, *, salary: str) -> None:
    """A permanent job in the field at a new employer, starting today, at ``salary`` a year."""
    page = window.page
    page.get_by_label("Nom du nouvel employeur").fill("Données Boréales")
    page.get_by_label("E-mail du contact qui vous a embauché").fill("rh@boreales.example")
    page.get_by_label("Intitulé du poste").fill("Analyste de données")
    page.get_by_label("Type de contrat").select_option(EmploymentType.FULL_TIME_PERMANENT.value)
    page.get_by_role("group", name="L’emploi est-il dans le domaine de vos études ?").get_by_label(
        "Oui"
    ).check()
    page.get_by_label("Premier jour de travail").fill(utc_now().date().isoformat())
    page.get_by_label("Salaire annuel brut (facultatif)").fill(salary)
    window.shot("report-form-filled")
    page.get_by_role("button", name="Déclarer cet emploi").click()


def stored_jobs(live_server, graduation_id: int) -> list[tuple[str, int | None, str | None]]:
    with live_server.sessionmaker() as session:
        return list(
            session.execute(
                select(
                    JobOutcome.title, JobOutcome.annual_salary_minor, JobOutcome.salary_currency
                ).where(JobOutcome.graduation_id == graduation_id)
            ).all()
        )


def test_graduate_whose_browser_asks_for_canadian_french_reads_quebec_formats_and_toronto_times_and_reports_a_french_salary(  # noqa: E501
    live_server, open_window
):
    with live_server.seeding():
        graduate = seed_quebec_graduate()
    window = open_window(**QUEBEC)
    page = window.page
    sign_in(window, graduate.email)

    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", name="Ma garantie d’emploi")).to_be_visible()
    guarantee = page.get_by_role("region", name="Science des données")
    expect(guarantee).to_contain_text("Date limite de début d’un emploi qualifiant")
    expect(guarantee).to_contain_text("Vos obligations de recherche")
    # Amounts as Quebec writes them: a no-break space between thousands and before the dollar.
    expect(guarantee).to_contain_text(f"6{NBSP}500,00{NBSP}$")
    expect(guarantee).to_contain_text(f"Au moins 40{NBSP}000,00{NBSP}$ par an")
    # The question's deadline in Toronto time, named as the page names the zone; no UTC.
    due = (graduate.asked_at + timedelta(days=2)).astimezone(TORONTO)
    deadline = (
        f"{format_date(due.date(), 'medium', locale='fr_CA')}, "
        f"{format_time(due, 'short', locale='fr_CA')} (Toronto)"
    )
    question = page.locator("form").filter(has_text="Où avez-vous postulé ?")
    expect(question).to_contain_text("réponse attendue d’ici le")
    expect(question).to_contain_text(deadline)
    expect(guarantee).not_to_contain_text("UTC")
    # Dates in French, as fr_CA writes them (the month's name in French).
    expect(guarantee).to_contain_text(format_date(graduate.deadline, "medium", locale="fr_CA"))
    window.shot("me-in-french")

    open_report_form(window)
    expect(page.get_by_text(f"par exemple 42{NBSP}000")).to_be_visible()
    fill_job(window, salary="42 000,50")
    expect(page).to_have_url(re.compile(r"/me$"))
    expect(page.get_by_text("Votre emploi est enregistré.")).to_be_visible()
    jobs = page.get_by_role("row").filter(has_text="Analyste de données")
    expect(jobs).to_contain_text(f"42{NBSP}000,50{NBSP}$")
    window.shot("job-reported")

    assert stored_jobs(live_server, graduate.graduation_id) == [
        ("Analyste de données", 4_200_050, "CAD")
    ]


def test_graduate_typing_an_ambiguous_salary_in_canadian_french_gets_a_french_field_error_and_nothing_is_stored(  # noqa: E501
    live_server, open_window
):
    with live_server.seeding():
        graduate = seed_quebec_graduate()
    window = open_window(**QUEBEC)
    page = window.page
    sign_in(window, graduate.email)

    open_report_form(window)
    fill_job(window, salary="42.000")
    error = page.locator("#annual_salary-error")
    expect(error).to_contain_text("42.000 peut se lire de deux façons")
    expect(error).to_contain_text("écrivez 42000 pour des milliers, ou 42,00 avec les décimales")
    expect(page.get_by_label("Salaire annuel brut (facultatif)")).to_have_attribute(
        "aria-invalid", "true"
    )
    window.shot("ambiguous-salary-refused")

    assert stored_jobs(live_server, graduate.graduation_id) == []

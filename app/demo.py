"""A small demo school: ``flask --app wsgi demo load`` fills an empty database with it.

Dates are relative to today, so the demo always shows a graduate in every guarantee state:
in the window, placed, owed a refund, past the claim deadline, excluded and not covered (one
did not opt in, one qualified in the thirteenth month of a programme that gives twelve, one is
not authorised to work in the country of the search). It also shows a graduate falling behind
on the search obligations (Amina Diallo, who can sign in), paused windows that the pauses
extended, and a half-year cohort whose outcomes report has a graduate behind every CIRR status
(the latest half-year that is 180 days past).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import click
import pyotp
from dateutil.relativedelta import relativedelta
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth import second_factor
from app.auth.access import Principal
from app.database import db_session
from app.guarantee.cirr import OUTCOME_DAYS, HalfYear
from app.guarantee.terms import (
    CirrIntent,
    EmploymentType,
    ExclusionReason,
    OfferDecision,
    OutcomeSource,
    OutcomeStatus,
    PauseReason,
    PayerType,
    SearchActivityKind,
    WorkAuthorisation,
)
from app.models import (
    Employer,
    ExcludedOutcome,
    Graduation,
    Programme,
    Role,
    SchoolRequest,
    SearchActivity,
    SearchPause,
    Student,
    User,
)
from app.services import records
from app.services.accounts import create_account
from refunds.stripe_gateway import make_stripe_client

demo_cli = AppGroup("demo", help="The demo school.")

SEEDER = Principal(actor="system:demo")


def _instant(day: date) -> datetime:
    return datetime.combine(day, time(10, 0), tzinfo=UTC)


#: The AI programme's eligibility, as the school states it: a bachelor's degree in mathematics,
#: twelve months to earn the diploma, candidates from the US, the UK, Canada and France, who
#: must be allowed to work where they search.
AI_ELIGIBILITY = {
    "prerequisites": ["Bachelor's degree, mathematics"],
    "qualify_within_months": 12,
    "search_areas": ["US", "GB", "CA", "FR"],
    "requires_work_authorisation": True,
}


def load_demo_school(
    session: Session, today: date, pay: Callable[[int, str], str] | None = None
) -> dict[str, int]:
    """Write the demo school into ``session`` (not committed); returns how many of each record.

    ``pay(amount_minor, currency)`` takes each tuition payment through the payment provider and
    returns its PaymentIntent id; without it, payments are recorded as made outside Stripe.
    """
    ai = records.create_programme(
        session, name="AI Engineer (Master's)", currency="EUR", tuition_list_price_minor=700_000
    )
    data = records.create_programme(
        session, name="Data Analyst", currency="GBP", tuition_list_price_minor=450_000
    )
    records.publish_policy(
        session,
        ai.id,
        effective_from=date(2023, 1, 1),
        notes="Six months after qualifying; full refund of tuition paid.",
        **AI_ELIGIBILITY,
    )
    records.publish_policy(
        session,
        ai.id,
        effective_from=today - relativedelta(months=14),
        min_annual_salary_minor=3_500_000,
        refund_cap_minor=650_000,
        weekly_applications=5,
        coaching_every_weeks=2,
        answer_within_days=3,
        report_offers_within_days=7,
        declined_offer_voids=True,
        max_pause_days=90,
        **AI_ELIGIBILITY,
        notes="Version 2: pay floor of EUR 35,000 a year; refunds capped at EUR 6,500; five "
        "applications a week, a coaching check-in every two weeks, answers within three days, "
        "offers reported within a week; pauses extend the window by up to 90 days.",
    )
    records.publish_policy(
        session,
        data.id,
        effective_from=date(2023, 1, 1),
        window_months=9,
        claim_deadline_days=90,
        qualifying_types=[
            EmploymentType.FULL_TIME_PERMANENT,
            EmploymentType.FIXED_TERM_CONTRACT,
            EmploymentType.APPRENTICESHIP,
        ],
    )
    acme = records.create_employer(session, name="Acme Analytics", contact_email="hr@acme.example")
    nimbus = records.create_employer(
        session, name="Nimbus Robotics", contact_email="talent@nimbus.example"
    )

    def graduate(name, email, country, programme, months_ago, opt_in=True, **kwargs):
        student = records.create_student(session, name=name, email=email, country=country)
        qualified_on = kwargs.pop("qualified_on", None) or today - relativedelta(
            months=months_ago or 0
        )
        signed_on = qualified_on - relativedelta(months=kwargs.pop("study_months", 12))
        enrollment = records.enroll(
            session,
            student_id=student.id,
            programme_id=programme.id,
            signed_on=signed_on,
            guarantee_opt_in=opt_in,
            scholarship_minor=kwargs.pop("scholarship_minor", 0),
            cirr_intent=kwargs.pop("cirr_intent", CirrIntent.IN_FIELD_JOB),
            expected_graduation_on=kwargs.pop("expected_graduation_on", None),
            studies_started_on=signed_on,
            work_authorisation=kwargs.pop("work_authorisation", WorkAuthorisation.YES),
        )
        for prerequisite in enrollment.policy.prerequisites:
            records.verify_prerequisite(
                session,
                enrollment.id,
                prerequisite.id,
                verified_by=SEEDER.actor,
                note="Diploma seen at admission.",
            )
        instalments = kwargs.pop("instalments", [programme.tuition_list_price_minor])
        for number, amount in enumerate(instalments):
            records.record_payment(
                session,
                enrollment.id,
                amount_minor=amount,
                currency=programme.currency,
                paid_at=_instant(signed_on + timedelta(days=30 * number)),
                payer_type=kwargs.get("payer_type", PayerType.STUDENT),
                payer_name=kwargs.get("payer_name"),
                stripe_payment_intent_id=pay(amount, programme.currency) if pay else None,
            )
        if months_ago is None:
            return None
        return records.record_graduation(
            session, enrollment_id=enrollment.id, qualified_on=qualified_on
        )

    # Placed: a confirmed permanent job in field, above the pay floor.
    placed = graduate("Ben Carter", "ben.carter@example.org", "GB", ai, 4)
    records.report_job_outcome(
        session,
        graduation_id=placed.id,
        employer_id=acme.id,
        title="Machine learning engineer",
        employment_type=EmploymentType.FULL_TIME_PERMANENT,
        in_field=True,
        start_date=placed.qualified_on + timedelta(days=45),
        source=OutcomeSource.EMPLOYER,
        status=OutcomeStatus.CONFIRMED,
        annual_salary_minor=4_800_000,
        salary_currency="EUR",
    )
    # Owed a refund: only an internship, paid in three instalments, with a scholarship.
    owed = graduate(
        "Chloé Martin",
        "chloe.martin@example.org",
        "FR",
        ai,
        7,
        scholarship_minor=50_000,
        instalments=[250_000, 250_000, 200_000],
    )
    records.report_job_outcome(
        session,
        graduation_id=owed.id,
        employer_id=nimbus.id,
        title="Data science intern",
        employment_type=EmploymentType.INTERNSHIP,
        in_field=True,
        start_date=owed.qualified_on + timedelta(days=30),
        contract_months=4,
        source=OutcomeSource.GRADUATE,
    )
    # Owed a refund: the employer disputed the job the graduate reported; a sponsor paid.
    disputed = graduate(
        "Diego Alvarez",
        "diego.alvarez@example.org",
        "CA",
        ai,
        7,
        payer_type=PayerType.SPONSOR,
        payer_name="Northwind Bank (employer sponsor)",
    )
    records.report_job_outcome(
        session,
        graduation_id=disputed.id,
        employer_id=acme.id,
        title="AI consultant",
        employment_type=EmploymentType.FULL_TIME_PERMANENT,
        in_field=True,
        start_date=disputed.qualified_on + timedelta(days=60),
        source=OutcomeSource.GRADUATE,
        status=OutcomeStatus.DISPUTED,
    )
    # Past the claim deadline.
    graduate("Emma Novak", "emma.novak@example.org", "GB", data, 14)
    # Not covered: did not opt in.
    graduate("Farid Haddad", "farid.haddad@example.org", "FR", ai, 8, opt_in=False)
    # Not covered: qualified in the 13th month of studies, after the programme's 12.
    graduate("Karim Benali", "karim.benali@example.org", "FR", ai, 7, study_months=13)
    # Not covered: searching in the United States without the right to work there.
    graduate(
        "Lucy Walsh",
        "lucy.walsh@example.org",
        "US",
        ai,
        7,
        work_authorisation=WorkAuthorisation.NO,
    )
    # Data Analyst graduate in a nine-month window with an apprenticeship (counts there).
    apprentice = graduate("Grace Okafor", "grace.okafor@example.org", "GB", data, 5)
    records.report_job_outcome(
        session,
        graduation_id=apprentice.id,
        employer_id=nimbus.id,
        title="Analytics apprentice",
        employment_type=EmploymentType.APPRENTICESHIP,
        in_field=True,
        start_date=apprentice.qualified_on + timedelta(days=20),
        contract_months=12,
        source=OutcomeSource.REGISTRAR,
    )
    # Still studying: enrolled, paying, not graduated.
    graduate("Hugo Lefèvre", "hugo.lefevre@example.org", "FR", ai, None, study_months=3)
    _searching_graduates(session, today, ai, nimbus, graduate)
    school = records.create_employer(
        session,
        name="The School (teaching team)",
        contact_email="jobs@school.example",
        is_school=True,
    )
    _half_year_cohort(session, today, ai, data, acme, nimbus, school, graduate)
    programmes = session.scalar(select(func.count()).select_from(Programme))
    students = session.scalar(select(func.count()).select_from(Student))
    graduations = session.scalar(select(func.count()).select_from(Graduation))
    return {"programmes": programmes, "students": students, "graduations": graduations}


def _logged(day: date) -> datetime:
    return datetime.combine(day, time(18, 0), tzinfo=UTC)


def _log(session: Session, graduation_id: int, kind, day: date, logged_on=None, **fields) -> None:
    """An entry of a graduate's search log, logged on the evening of ``logged_on`` (the day it
    happened, unless said)."""
    session.add(
        SearchActivity(
            graduation_id=graduation_id,
            kind=kind,
            occurred_on=day,
            created_at=_logged(logged_on or day),
            **fields,
        )
    )


def _searching_graduates(session: Session, today: date, ai, nimbus, graduate) -> None:
    """Graduates under the policy with search obligations: one falling behind, one paused."""
    # Amina (who can sign in) qualified two months ago under version 2: five applications a
    # week. She kept up, paused two weeks for illness, and has now fallen behind: two
    # applications last week, one so far this week, and no coaching check-in for a while.
    amina = graduate("Amina Diallo", "amina.diallo@example.org", "FR", ai, 2)
    start = amina.qualified_on
    week = 0
    weeks_done = (today - start).days // 7
    for week in range(weeks_done + 1):
        first = start + timedelta(days=7 * week)
        if week in (2, 3):
            continue  # paused (illness), below
        count = 5 if week < weeks_done - 1 else (2 if week == weeks_done - 1 else 1)
        for number in range(count):
            day = min(first + timedelta(days=number), today)
            _log(
                session,
                amina.id,
                SearchActivityKind.APPLICATION,
                day,
                employer_name=DEMO_EMPLOYERS[(week * 5 + number) % len(DEMO_EMPLOYERS)],
                position="Machine learning engineer",
                link=f"https://jobs.example/{week}-{number}",
            )
        if week in (1, 5):
            _log(
                session,
                amina.id,
                SearchActivityKind.COACHING_CHECKIN,
                first + timedelta(days=4),
            )
    interview_day = start + timedelta(days=30)
    _log(
        session,
        amina.id,
        SearchActivityKind.INTERVIEW,
        interview_day,
        employer_name="Nimbus Robotics",
        position="Data science intern",
    )
    offer_day = start + timedelta(days=37)
    _log(
        session,
        amina.id,
        SearchActivityKind.OFFER,
        offer_day,
        employer_name="Nimbus Robotics",
        position="Data science intern",
        employment_type=EmploymentType.INTERNSHIP,
        in_field=True,
        contract_months=4,
        annual_salary_minor=1_800_000,
        salary_currency="EUR",
        offer_starts_on=offer_day + timedelta(days=14),
        decision=OfferDecision.DECLINED,
        decided_on=offer_day + timedelta(days=2),
        logged_on=offer_day + timedelta(days=1),
    )
    session.add(
        SearchPause(
            graduation_id=amina.id,
            starts_on=start + timedelta(days=14),
            ends_on=start + timedelta(days=27),
            reason=PauseReason.ILLNESS,
            note="Medical certificate sent to the school.",
            recorded_by="graduate:amina.diallo@example.org",
            created_at=_logged(start + timedelta(days=13)),
        )
    )
    session.add(
        SchoolRequest(
            graduation_id=amina.id,
            asked_at=_logged(today - timedelta(days=1)),
            asked_by="registrar:registrar@school.example",
            question="Could you send us the list of companies you will contact next week?",
        )
    )
    # Jade's window closes in three weeks without a job: the scheduler reminds her.
    graduate(
        "Jade Laurent",
        "jade.laurent@example.org",
        "FR",
        ai,
        0,
        qualified_on=today - relativedelta(months=6) + timedelta(days=20),
    )
    # Ines took two months of parental leave: her window is two months longer.
    ines = graduate("Inès Moreau", "ines.moreau@example.org", "FR", ai, 5, study_months=9)
    session.add(
        SearchPause(
            graduation_id=ines.id,
            starts_on=ines.qualified_on + timedelta(days=21),
            ends_on=ines.qualified_on + timedelta(days=80),
            reason=PauseReason.PARENTAL_LEAVE,
            recorded_by="registrar:registrar@school.example",
            created_at=_logged(ines.qualified_on + timedelta(days=7)),
        )
    )
    paused = range(21, 81)
    for week in range((today - ines.qualified_on).days // 7 + 1):
        active = [
            ines.qualified_on + timedelta(days=7 * week + offset)
            for offset in range(7)
            if 7 * week + offset not in paused
            and ines.qualified_on + timedelta(days=7 * week + offset) <= today
        ]
        for number, day in enumerate(active[:5]):
            _log(
                session,
                ines.id,
                SearchActivityKind.APPLICATION,
                day,
                employer_name=DEMO_EMPLOYERS[number],
                position="AI engineer",
            )
        if active:
            _log(
                session,
                ines.id,
                SearchActivityKind.COACHING_CHECKIN,
                active[0],
            )


#: Companies the demo graduates apply to.
DEMO_EMPLOYERS = [
    "Acme Analytics",
    "Nimbus Robotics",
    "Helios Health",
    "Quanta Logistics",
    "Orbital Bank",
    "Pixel Forge",
    "Cobalt Energy",
]


def reported_half_year(today: date) -> HalfYear:
    """The latest half-year whose graduates are all 180 days out: the one before the half-year
    of the day 180 days ago."""
    return HalfYear.containing(today - timedelta(days=OUTCOME_DAYS)).previous()


def _half_year_cohort(session: Session, today: date, ai, data, acme, nimbus, school, graduate):
    """A cohort scheduled to graduate in one half-year, with a graduate in every CIRR status."""
    start = reported_half_year(today).first_day

    def member(name, email, programme, day, **kwargs):
        qualified_on = start + timedelta(days=day)
        graduates = kwargs.pop("graduates", True)
        graduation = graduate(
            name,
            email,
            "GB" if programme is data else "FR",
            programme,
            None if not graduates else 0,
            qualified_on=qualified_on,
            expected_graduation_on=qualified_on,
            **kwargs,
        )
        return graduation

    def job(graduation, employer, title, kind, days_after, source, **kwargs):
        records.report_job_outcome(
            session,
            graduation_id=graduation.id,
            employer_id=employer.id if employer else None,
            title=title,
            employment_type=kind,
            in_field=kwargs.pop("in_field", True),
            start_date=graduation.qualified_on + timedelta(days=days_after),
            source=source,
            **kwargs,
        )

    permanent = EmploymentType.FULL_TIME_PERMANENT
    ivy = member("Ivy Chen", "ivy.chen@example.org", ai, 10)
    job(
        ivy,
        acme,
        "ML engineer",
        permanent,
        40,
        OutcomeSource.EMPLOYER,
        status=OutcomeStatus.CONFIRMED,
        annual_salary_minor=5_200_000,
        salary_currency="EUR",
    )
    jonas = member("Jonas Weber", "jonas.weber@example.org", ai, 20)
    job(
        jonas,
        nimbus,
        "Computer vision engineer",
        permanent,
        70,
        OutcomeSource.GRADUATE,
        annual_salary_minor=4_600_000,
        salary_currency="EUR",
    )
    kenji = member("Kenji Sato", "kenji.sato@example.org", ai, 30)
    job(
        kenji,
        nimbus,
        "AI research intern",
        EmploymentType.INTERNSHIP,
        20,
        OutcomeSource.GRADUATE,
        contract_months=6,
        annual_salary_minor=2_000_000,
        salary_currency="EUR",
    )
    lina = member("Lina Haddad", "lina.haddad@example.org", ai, 40, opt_in=False)
    job(
        lina, acme, "Freelance data scientist", EmploymentType.FREELANCE, 15, OutcomeSource.GRADUATE
    )
    marco = member("Marco Rossi", "marco.rossi@example.org", ai, 50, opt_in=False)
    job(
        marco,
        acme,
        "Sales manager",
        permanent,
        60,
        OutcomeSource.EMPLOYMENT_HISTORY_SERVICE,
        in_field=False,
        annual_salary_minor=4_000_000,
        salary_currency="EUR",
    )
    nadia = member("Nadia Benali", "nadia.benali@example.org", ai, 60)
    for number in range(3):
        day = nadia.qualified_on + timedelta(days=20 * number + 5)
        _log(
            session,
            nadia.id,
            SearchActivityKind.APPLICATION,
            day,
            employer_name=DEMO_EMPLOYERS[number],
            position="AI engineer",
        )
    member("Omar Farouk", "omar.farouk@example.org", ai, 70)  # never reported anything
    priya = member("Priya Nair", "priya.nair@example.org", ai, 80)
    session.add(
        ExcludedOutcome(
            graduation_id=priya.id,
            reason=ExclusionReason.FURTHER_STUDY,
            occurred_on=priya.qualified_on + timedelta(days=60),
            evidence="Enrolment certificate, MSc Statistics, University of Lyon",
            recorded_by="registrar:registrar@school.example",
        )
    )
    member(
        "Quentin Blanc",
        "quentin.blanc@example.org",
        ai,
        90,
        cirr_intent=CirrIntent.FURTHER_STUDY,
        opt_in=False,
    )
    member("Rosa Lima", "rosa.lima@example.org", ai, 100, graduates=False)  # did not graduate
    sam = member("Sam Osei", "sam.osei@example.org", ai, 110)
    job(
        sam,
        school,
        "Teaching assistant, AI programme",
        permanent,
        14,
        OutcomeSource.REGISTRAR,
        annual_salary_minor=3_800_000,
        salary_currency="EUR",
    )
    tara = member("Tara Singh", "tara.singh@example.org", data, 15)
    job(
        tara,
        acme,
        "Data analyst",
        permanent,
        50,
        OutcomeSource.REGISTRAR,
        annual_salary_minor=3_800_000,
        salary_currency="GBP",
    )
    umar = member("Umar Khan", "umar.khan@example.org", data, 25)
    umar.stopped_seeking_on = umar.qualified_on + timedelta(days=45)
    # Vera kept searching and was hired on day 200: still seeking at day 180, not placed.
    vera = member("Vera Ivanova", "vera.ivanova@example.org", data, 35)
    applied = vera.qualified_on + timedelta(days=60)
    _log(
        session,
        vera.id,
        SearchActivityKind.APPLICATION,
        applied,
        employer_name="Nimbus Robotics",
        position="BI developer",
    )
    job(
        vera,
        nimbus,
        "BI developer",
        permanent,
        200,
        OutcomeSource.GRADUATE,
        annual_salary_minor=3_500_000,
        salary_currency="GBP",
    )
    walt = member("Walter Grün", "walter.grun@example.org", data, 45)
    job(
        walt,
        acme,
        "Analytics apprentice",
        EmploymentType.APPRENTICESHIP,
        30,
        OutcomeSource.RECRUITER,
        contract_months=12,
        annual_salary_minor=2_400_000,
        salary_currency="GBP",
    )


#: The demo's accounts: one per role (two finance people, to approve large claims together).
DEMO_ACCOUNTS = [
    ("admin@school.example", "Alex Admin", Role.ADMIN, None, None),
    ("registrar@school.example", "Rita Registrar", Role.REGISTRAR, None, None),
    ("ada.finance@school.example", "Ada Finance", Role.FINANCE, None, None),
    ("grace.finance@school.example", "Grace Finance", Role.FINANCE, None, None),
    ("chloe.martin@example.org", "Chloé Martin", Role.GRADUATE, "chloe.martin@example.org", None),
    ("amina.diallo@example.org", "Amina Diallo", Role.GRADUATE, "amina.diallo@example.org", None),
    ("hr@acme.example", "Acme Analytics HR", Role.EMPLOYER, None, "Acme Analytics"),
]


@dataclass(frozen=True)
class DemoAccount:
    """A demo account as the printout shows it."""

    role: str
    email: str
    password: str
    #: The authenticator key of a finance or admin account (they cannot sign in without the
    #: second factor); ``flask demo code EMAIL`` shows its current code.
    totp_secret: str | None = None


def load_demo_accounts(session: Session) -> list[DemoAccount]:
    """One account per role, each with a fresh random password; finance and admins with the
    second factor on, with a fresh random key.

    The passwords and keys are made here, on this machine, and never stored anywhere but in the
    database (passwords as hashes) and in the printout (and ``instance/demo-accounts.txt``) for
    the person running the demo.
    """
    created = []
    for email, name, role, student_email, employer_name in DEMO_ACCOUNTS:
        password = secrets.token_urlsafe(12)
        student_id = employer_id = None
        if student_email:
            student_id = session.scalar(select(Student.id).where(Student.email == student_email))
        if employer_name:
            employer_id = session.scalar(select(Employer.id).where(Employer.name == employer_name))
        user = create_account(
            session,
            SEEDER,
            email=email,
            name=name,
            role=role,
            password=password,
            student_id=student_id,
            employer_id=employer_id,
            check=False,
        )
        secret = None
        if second_factor.required(user):
            secret = second_factor.new_secret()
            second_factor.turn_on(session, user, secret)
        created.append(DemoAccount(role.value, email, password, secret))
    return created


def _pay_through_provider(api_key: str, api_base: str | None) -> Callable[[int, str], str]:
    client = make_stripe_client(api_key, api_base)
    customer = client.v1.customers.create(params={"email": "demo-tuition@example.org"}).id

    def pay(amount_minor: int, currency: str) -> str:
        intent = client.v1.payment_intents.create(
            params={
                "amount": amount_minor,
                "currency": currency.lower(),
                "customer": customer,
                "payment_method": "pm_card_visa",
                "payment_method_types": ["card"],
                "confirm": True,
            }
        )
        return intent.id

    return pay


@demo_cli.command("load")
def load_command() -> None:
    """Load the demo school, unless the database already holds programmes.

    With a payment provider configured (``make run`` starts a local one), tuition is paid
    through it, so the demo's refunds go back through it too.
    """
    session = db_session()
    if session.scalar(select(func.count()).select_from(Programme)):
        click.echo("the database has data already; the demo school was not loaded")
        return
    api_key = current_app.config.get("STRIPE_API_KEY")
    if api_key and not api_key.startswith("sk_test_"):
        raise click.ClickException("the demo school is only loaded with a Stripe test key")
    pay = (
        _pay_through_provider(api_key, current_app.config.get("STRIPE_API_BASE"))
        if api_key
        else None
    )
    counts = load_demo_school(session, datetime.now(UTC).date(), pay)
    accounts = load_demo_accounts(session)
    session.commit()
    click.echo("demo school loaded: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
    lines = [
        f"{a.role:<10} {a.email:<32} {a.password:<18} {a.totp_secret or ''}".rstrip()
        for a in accounts
    ]
    sheet = Path(current_app.instance_path) / "demo-accounts.txt"
    sheet.write_text(
        "role       email                            password           second-factor key\n"
        + "\n".join(lines)
        + "\n"
    )
    sheet.chmod(0o600)
    click.echo(f"\nSign in at {current_app.config['BASE_URL']}/sign-in as (also in {sheet}):")
    for line in lines:
        click.echo(f"  {line}")
    click.echo(
        "\nFinance and admin also give a code: add their key to an authenticator app, or run"
        " `flask --app wsgi demo code EMAIL` for the current one."
    )


@demo_cli.command("code")
@click.argument("email")
def code_command(email: str) -> None:
    """The current second-factor code of the demo account EMAIL (demo accounts only)."""
    if email not in {account[0] for account in DEMO_ACCOUNTS}:
        raise click.ClickException(f"{email} is not one of the demo's accounts")
    user = db_session().scalar(select(User).where(User.email == email))
    if user is None or not second_factor.enabled(user):
        raise click.ClickException(f"{email} has no second factor")
    secret = second_factor.opened_secret(user)
    if secret is None:
        raise click.ClickException(
            f"the second-factor key of {email} opens with no key of DATA_ENCRYPTION_KEYS"
        )
    click.echo(pyotp.TOTP(secret).now())


def init_app(app: Flask) -> None:
    app.cli.add_command(demo_cli)

"""A small demo school: ``flask --app wsgi demo load`` fills an empty database with it.

Dates are relative to today, so the demo always shows a graduate in every guarantee state:
in the window, placed, owed a refund, past the claim deadline, and not covered.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import click
from dateutil.relativedelta import relativedelta
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.access import Principal
from app.database import db_session
from app.guarantee.terms import EmploymentType, OutcomeSource, OutcomeStatus, PayerType
from app.models import Employer, Programme, Role, Student
from app.services import records
from app.services.accounts import create_account
from refunds.stripe_gateway import make_stripe_client

demo_cli = AppGroup("demo", help="The demo school.")

SEEDER = Principal(actor="system:demo")


def _instant(day: date) -> datetime:
    return datetime.combine(day, time(10, 0), tzinfo=UTC)


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
    )
    records.publish_policy(
        session,
        ai.id,
        effective_from=today - relativedelta(months=14),
        min_annual_salary_minor=3_500_000,
        refund_cap_minor=650_000,
        notes="Version 2: pay floor of EUR 35,000 a year; refunds capped at EUR 6,500.",
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
        qualified_on = today - relativedelta(months=months_ago or 0)
        signed_on = qualified_on - relativedelta(months=kwargs.pop("study_months", 12))
        enrollment = records.enroll(
            session,
            student_id=student.id,
            programme_id=programme.id,
            signed_on=signed_on,
            guarantee_opt_in=opt_in,
            scholarship_minor=kwargs.pop("scholarship_minor", 0),
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

    # In the window, nothing yet.
    graduate("Amina Diallo", "amina.diallo@example.org", "FR", ai, 2)
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
    return {"programmes": 2, "students": 8, "graduations": 7}


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


def load_demo_accounts(session: Session) -> list[tuple[str, str, str]]:
    """One account per role, each with a fresh random password; returns (role, email, password).

    The passwords are made here, on this machine, and never stored anywhere but as hashes and
    in the printout (and ``instance/demo-accounts.txt``) for the person running the demo.
    """
    created = []
    for email, name, role, student_email, employer_name in DEMO_ACCOUNTS:
        password = secrets.token_urlsafe(12)
        student_id = employer_id = None
        if student_email:
            student_id = session.scalar(select(Student.id).where(Student.email == student_email))
        if employer_name:
            employer_id = session.scalar(select(Employer.id).where(Employer.name == employer_name))
        create_account(
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
        created.append((role.value, email, password))
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
    lines = [f"{role:<10} {email:<32} {password}" for role, email, password in accounts]
    sheet = Path(current_app.instance_path) / "demo-accounts.txt"
    sheet.write_text(
        "role       email                            password\n" + "\n".join(lines) + "\n"
    )
    sheet.chmod(0o600)
    click.echo(f"\nSign in at {current_app.config['BASE_URL']}/sign-in as (also in {sheet}):")
    for line in lines:
        click.echo(f"  {line}")


def init_app(app: Flask) -> None:
    app.cli.add_command(demo_cli)

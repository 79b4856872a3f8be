"""A graduate's job search: the log, the school's questions, and compliance with the policy.

The graduate logs applications, interviews, offers (each accepted or declined) and coaching
check-ins; the registrar asks questions, which the graduate answers. ``compliance_for`` reads
these rows and judges them with the one rule, ``app.guarantee.obligations.search_compliance``.
Each function checks who may act (a graduate only on their own graduation), validates, adds its
rows and an audit record, and flushes; the caller commits.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

import pycountry
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import record
from app.auth.access import Permission, Principal, authorize, refuse
from app.database import among
from app.guarantee.obligations import (
    Activity,
    Compliance,
    Pause,
    Request,
    answer_due_at,
    search_compliance,
)
from app.guarantee.rules import window_start
from app.guarantee.terms import (
    EmploymentType,
    JobFacts,
    OfferDecision,
    PolicyTerms,
    SearchActivityKind,
)
from app.i18n import said_day
from app.models import Graduation, SchoolRequest, SearchActivity, SearchPause
from app.models.base import utc_now
from app.services.errors import Conflict, Invalid
from app.services.graduates import own_graduation
from app.services.guarantee import evaluate_guarantee
from app.services.records import MAX_ID, get_or_404

#: Largest salary accepted, in minor units (the API's bound).
MAX_SALARY_MINOR = 10**12
#: Longest question or answer accepted, in characters.
MAX_TEXT = 5000

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAK = re.compile(r"[\r\n]")

#: What an entry of each kind (but a coaching check-in) cannot go without.
_REQUIRED_FOR = {
    SearchActivityKind.APPLICATION: lazy_gettext("required for an application"),
    SearchActivityKind.INTERVIEW: lazy_gettext("required for an interview"),
    SearchActivityKind.OFFER: lazy_gettext("required for an offer"),
}

#: Why an offer already decided cannot be decided again.
_ALREADY_DECIDED = {
    OfferDecision.ACCEPTED: lazy_gettext("this offer was already accepted"),
    OfferDecision.DECLINED: lazy_gettext("this offer was already declined"),
}


def compliance_for(
    session: Session, graduation: Graduation, as_of: date, deadline: date | None = None
) -> Compliance:
    """The graduation's search obligations judged on ``as_of`` from its recorded log.

    The window starts as the policy says; its deadline is the guarantee's, pauses included
    (pass ``deadline`` when the caller has evaluated the guarantee already).
    """
    return search_record(session, graduation, as_of, deadline).compliance


@dataclass(frozen=True)
class SearchRecord:
    """Everything a graduate's search consists of, and how it stands on ``as_of``."""

    graduation: Graduation
    terms: PolicyTerms
    window_start: date
    deadline: date
    compliance: Compliance
    #: The log, latest first.
    activities: list[SearchActivity]
    #: The school's questions, latest first.
    requests: list[SchoolRequest]
    pauses: list[SearchPause]

    @property
    def weekly_obligations(self) -> bool:
        """Whether the policy asks for something every week (applications or check-ins)."""
        return bool(self.terms.weekly_applications or self.terms.coaching_every_weeks)

    @property
    def pending_offers(self) -> list[SearchActivity]:
        """Offers the graduate has not accepted or declined yet."""
        return [a for a in self.activities if a.decision is OfferDecision.PENDING]

    @property
    def offers(self) -> list[SearchActivity]:
        """Every offer logged, latest first."""
        return [a for a in self.activities if a.kind is SearchActivityKind.OFFER]

    @property
    def open_requests(self) -> list[SchoolRequest]:
        """Questions not answered yet, oldest first."""
        return sorted((r for r in self.requests if r.answered_at is None), key=_asked)

    def answer_due(self, request: SchoolRequest) -> datetime | None:
        """When the answer to ``request`` is due; ``None`` when the policy sets no deadline."""
        return answer_due_at(request.asked_at, self.terms.answer_within_days)


def search_record(
    session: Session, graduation: Graduation, as_of: date, deadline: date | None = None
) -> SearchRecord:
    """The graduation's log, questions and pauses, with their compliance on ``as_of``.

    ``deadline`` is the guarantee's (pauses included), evaluated here unless the caller knows
    it. The caller has checked that whoever asks may see this graduation.
    """
    if deadline is None:
        deadline = evaluate_guarantee(session, graduation.id, as_of).status.deadline
    logs = _logs(session, [graduation.id])
    return _judged(graduation, as_of, deadline, *(rows[graduation.id] for rows in logs))


def record_at_close(session: Session, graduation: Graduation, deadline: date) -> SearchRecord:
    """The search record as it stood when the window closed on ``deadline``: every week judged.

    Judged on the day after the deadline, since on the deadline itself its last week is still
    open. This is what finance sees on a claim and what the claim review after the sweep uses.
    """
    return search_record(session, graduation, deadline + timedelta(days=1), deadline)


def records_at_close(session: Session, closed: list[tuple[Graduation, date]]) -> list[SearchRecord]:
    """``record_at_close`` of each (graduation, deadline), their rows read in three queries
    for them all (a batch job's many claims), not three per graduation.

    A batch job may pass plain rows for the graduations: what is read of each is its ``id``,
    ``qualified_on``, ``stopped_seeking_on`` and ``enrollment`` (its ``policy``, ``policy_id``
    and ``search_country``)."""
    return search_records(
        session,
        [(graduation, deadline + timedelta(days=1), deadline) for graduation, deadline in closed],
    )


def search_records(
    session: Session, judged: list[tuple[Graduation, date, date]]
) -> list[SearchRecord]:
    """``search_record`` of each (graduation, as of, deadline), their rows read in three
    queries for them all (a batch job's many graduates), not three per graduation.

    For batch jobs, which read the compliance: the records' log, questions and pauses are
    plain rows of the columns the rule reads, not ORM objects."""
    logs = _logs(session, [graduation.id for graduation, _as_of, _deadline in judged], plain=True)
    terms: dict[int, PolicyTerms] = {}  # a handful of policies for thousands of graduates
    for graduation, _as_of, _deadline in judged:
        policy = graduation.enrollment.policy
        if policy.id not in terms:
            terms[policy.id] = policy.terms()
    return [
        _judged(
            graduation,
            as_of,
            deadline,
            *(rows[graduation.id] for rows in logs),
            terms=terms[graduation.enrollment.policy_id],
        )
        for graduation, as_of, deadline in judged
    ]


#: The columns of each kind of row the rule reads (``_judged``), for batch jobs' plain rows.
_RULE_COLUMNS = {
    SearchActivity: (
        SearchActivity.graduation_id, SearchActivity.kind, SearchActivity.occurred_on,
        SearchActivity.created_at, SearchActivity.employment_type, SearchActivity.in_field,
        SearchActivity.offer_starts_on, SearchActivity.contract_months,
        SearchActivity.annual_salary_minor, SearchActivity.salary_currency,
        SearchActivity.decision, SearchActivity.employer_name, SearchActivity.decided_on,
    ),
    SchoolRequest: (SchoolRequest.graduation_id, SchoolRequest.asked_at, SchoolRequest.answered_at),
    SearchPause: (SearchPause.graduation_id, SearchPause.starts_on, SearchPause.ends_on),
}  # fmt: skip


def _logs(
    session: Session, graduation_ids: list[int], plain: bool = False
) -> tuple[dict[int, list], ...]:
    """Per graduation, its log and questions (latest first) and pauses (in order); ``plain``:
    rows of ``_RULE_COLUMNS`` rather than ORM objects (cheaper by far for thousands)."""
    logs = []
    for model, order in (
        (SearchActivity, (SearchActivity.occurred_on.desc(), SearchActivity.id.desc())),
        (SchoolRequest, (SchoolRequest.asked_at.desc(), SchoolRequest.id.desc())),
        (SearchPause, (SearchPause.starts_on, SearchPause.id)),
    ):
        rows = defaultdict(list)
        for start in range(0, len(graduation_ids), 500):
            chunk = graduation_ids[start : start + 500]
            query = (
                (select(*_RULE_COLUMNS[model]) if plain else select(model))
                .where(among(session, model.graduation_id, chunk))
                .order_by(*order)
            )
            for row in session.execute(query) if plain else session.scalars(query):
                rows[row.graduation_id].append(row)
        logs.append(rows)
    return tuple(logs)


def _judged(
    graduation: Graduation,
    as_of: date,
    deadline: date,
    activities: list[SearchActivity],
    requests: list[SchoolRequest],
    pauses: list[SearchPause],
    terms: PolicyTerms | None = None,
) -> SearchRecord:
    """The record of ``graduation`` from its rows, judged by the one rule on ``as_of``
    (``terms``: its policy's, when the caller has them already)."""
    if terms is None:
        terms = graduation.enrollment.policy.terms()
    opens = window_start(graduation.qualified_on, terms.window_starts)
    compliance = search_compliance(
        terms=terms,
        window_start=opens,
        deadline=deadline,
        activities=[_activity(row) for row in activities],
        requests=[Request(row.asked_at, row.answered_at) for row in requests],
        pauses=[Pause(row.starts_on, row.ends_on) for row in pauses],
        as_of=as_of,
        search_country=graduation.enrollment.search_country,
    )
    return SearchRecord(
        graduation, terms, opens, deadline, compliance, activities, requests, pauses
    )


def _activity(row: SearchActivity) -> Activity:
    offer = None
    if row.kind is SearchActivityKind.OFFER:
        offer = JobFacts(
            employment_type=row.employment_type,
            in_field=bool(row.in_field),
            start_date=row.offer_starts_on or row.occurred_on,
            contract_months=row.contract_months,
            annual_salary_minor=row.annual_salary_minor,
            salary_currency=row.salary_currency,
        )
    return Activity(
        kind=row.kind,
        occurred_on=row.occurred_on,
        logged_on=row.created_at.date(),
        offer=offer,
        decision=row.decision,
        employer_name=row.employer_name,
        decided_on=row.decided_on,
    )


def _asked(request: SchoolRequest) -> datetime:
    return request.asked_at


@dataclass(frozen=True)
class QuestionLine:
    """A question from the school, when its answer is due, and whether it came late."""

    request: SchoolRequest
    #: ``None`` when the policy sets no time to answer.
    due_at: datetime | None

    @property
    def late(self) -> bool:
        """Answered after the due time, or still unanswered past it."""
        if self.due_at is None:
            return False
        answered = self.request.answered_at
        return (answered or utc_now()) > self.due_at


def questions_of(session: Session, graduation: Graduation | None) -> list[QuestionLine]:
    """The questions put to a graduation, latest first, each with its due time (staff pages)."""
    if graduation is None:
        return []
    within = graduation.enrollment.policy.terms().answer_within_days
    rows = session.scalars(
        select(SchoolRequest)
        .where(SchoolRequest.graduation_id == graduation.id)
        .order_by(SchoolRequest.asked_at.desc(), SchoolRequest.id.desc())
    )
    return [QuestionLine(row, answer_due_at(row.asked_at, within)) for row in rows]


def own_search_record(
    session: Session,
    principal: Principal,
    graduation_id: int,
    as_of: date,
    deadline: date | None = None,
) -> SearchRecord:
    """``search_record`` for the graduate's own graduation; refused for anyone else's."""
    graduation = own_graduation(session, principal, graduation_id)
    return search_record(session, graduation, as_of, deadline)


@dataclass(frozen=True)
class OfferTerms:
    """What was offered: the facts that decide whether the job would qualify."""

    employment_type: EmploymentType
    in_field: bool
    starts_on: date | None = None
    contract_months: int | None = None
    annual_salary_minor: int | None = None
    salary_currency: str | None = None


def log_activity(
    session: Session,
    principal: Principal,
    graduation_id: int,
    *,
    kind: SearchActivityKind,
    occurred_on: date,
    employer_name: str | None = None,
    position: str | None = None,
    link: str | None = None,
    notes: str | None = None,
    offer: OfferTerms | None = None,
    decision: OfferDecision = OfferDecision.PENDING,
) -> SearchActivity:
    """Log an application, interview, offer or coaching check-in on the graduate's own search.

    Every kind but a check-in names the employer and position; an offer gives its terms (and
    may be logged already accepted or declined, decided on the day it is logged).
    """
    graduation = own_graduation(session, principal, graduation_id)
    errors: dict[str, list[str]] = {}
    today = utc_now().date()
    _check_day(errors, "occurred_on", occurred_on, graduation, today)
    employer_name = _one_line(errors, "employer_name", employer_name, 200)
    position = _one_line(errors, "position", position, 200)
    if kind is not SearchActivityKind.COACHING_CHECKIN:
        for name, value in (("employer_name", employer_name), ("position", position)):
            if not value and name not in errors:
                errors[name] = [str(_REQUIRED_FOR[kind])]
    link = _link(errors, link)
    notes = _text(errors, "notes", notes, MAX_TEXT)
    if kind is SearchActivityKind.OFFER:
        if offer is None:
            errors["employment_type"] = [_("give the terms of the offer")]
        else:
            _check_offer(errors, offer)
    elif offer is not None:
        errors["kind"] = [_("only an offer has offer terms")]
    if errors:
        raise Invalid(errors)
    fields = {}
    if kind is SearchActivityKind.OFFER:
        fields = {
            "employment_type": offer.employment_type,
            "in_field": offer.in_field,
            "offer_starts_on": offer.starts_on,
            "contract_months": offer.contract_months,
            "annual_salary_minor": offer.annual_salary_minor,
            "salary_currency": offer.salary_currency,
            "decision": decision,
            "decided_on": None if decision is OfferDecision.PENDING else today,
        }
    activity = SearchActivity(
        graduation_id=graduation.id,
        kind=kind,
        occurred_on=occurred_on,
        employer_name=employer_name,
        position=position,
        link=link,
        notes=notes,
        **fields,
    )
    session.add(activity)
    session.flush()
    record(
        session, principal.actor, f"search.{kind.value}_logged", f"search_activity:{activity.id}"
    )
    return activity


def decide_offer(
    session: Session,
    principal: Principal,
    activity_id: int,
    decision: OfferDecision,
    decided_on: date | None = None,
) -> SearchActivity:
    """Accept or decline a pending offer on the graduate's own log (decided today by default)."""
    activity = _own_activity(session, principal, activity_id)
    if activity.kind is not SearchActivityKind.OFFER:
        raise Invalid.field("activity_id", _("only an offer can be accepted or declined"))
    if decision is OfferDecision.PENDING:
        raise Invalid.field("decision", _("accept or decline the offer"))
    if activity.decision is not OfferDecision.PENDING:
        raise Conflict(str(_ALREADY_DECIDED[activity.decision]), "decision")
    today = utc_now().date()
    decided_on = decided_on or today
    errors: dict[str, list[str]] = {}
    _check_day(errors, "decided_on", decided_on, activity.graduation, today)
    if not errors and decided_on < activity.occurred_on:
        errors["decided_on"] = [_("cannot be before the offer was received")]
    if errors:
        raise Invalid(errors)
    activity.decision = decision
    activity.decided_on = decided_on
    session.flush()
    record(
        session,
        principal.actor,
        f"search.offer_{decision.value}",
        f"search_activity:{activity.id}",
        f"{activity.employer_name} on {decided_on.isoformat()}",
    )
    return activity


def ask_question(
    session: Session, principal: Principal, graduation_id: int, question: str
) -> SchoolRequest:
    """The school (a registrar) asks the graduate a question, due within the policy's days."""
    authorize(principal, Permission.WRITE_RECORDS, target=f"graduation:{graduation_id}")
    graduation = get_or_404(session, Graduation, graduation_id)
    errors: dict[str, list[str]] = {}
    question = _text(errors, "question", question, MAX_TEXT)
    if not question and not errors:
        errors["question"] = [_("write the question")]
    if errors:
        raise Invalid(errors)
    request = SchoolRequest(
        graduation_id=graduation.id, asked_at=utc_now(), asked_by=principal.actor, question=question
    )
    session.add(request)
    session.flush()
    record(session, principal.actor, "search.question_asked", f"school_request:{request.id}")
    return request


def answer_question(
    session: Session, principal: Principal, request_id: int, answer: str
) -> SchoolRequest:
    """The graduate answers a question the school asked about their own graduation."""
    authorize(principal, Permission.OWN_GUARANTEE)
    request = session.get(SchoolRequest, request_id) if 0 < request_id <= MAX_ID else None
    if request is None:
        refuse(principal, "answer another graduate's question", f"school_request:{request_id}")
    own_graduation(session, principal, request.graduation_id)
    if request.answered_at is not None:
        raise Conflict(_("this question was already answered"), "answer")
    errors: dict[str, list[str]] = {}
    answer = _text(errors, "answer", answer, MAX_TEXT)
    if not answer and not errors:
        errors["answer"] = [_("write your answer")]
    if errors:
        raise Invalid(errors)
    request.answer = answer
    request.answered_at = utc_now()
    session.flush()
    record(session, principal.actor, "search.question_answered", f"school_request:{request.id}")
    return request


def stop_seeking(
    session: Session, principal: Principal, graduation_id: int, on: date | None = None
) -> Graduation:
    """The graduate tells the school they stopped looking for work (on ``on``, today by default).

    Recorded once: the CIRR report counts them as not seeking from then on.
    """
    graduation = own_graduation(session, principal, graduation_id)
    if graduation.stopped_seeking_on is not None:
        raise Conflict(
            _("you told us on %(day)s already", day=said_day(graduation.stopped_seeking_on)),
            "stopped_on",
        )
    today = utc_now().date()
    on = on or today
    errors: dict[str, list[str]] = {}
    _check_day(errors, "stopped_on", on, graduation, today)
    if errors:
        raise Invalid(errors)
    graduation.stopped_seeking_on = on
    session.flush()
    record(
        session,
        principal.actor,
        "search.stopped_seeking",
        f"graduation:{graduation.id}",
        on.isoformat(),
    )
    return graduation


def _own_activity(session: Session, principal: Principal, activity_id: int) -> SearchActivity:
    # An unknown id is refused like someone else's, so ids cannot be probed.
    authorize(principal, Permission.OWN_GUARANTEE)
    activity = session.get(SearchActivity, activity_id) if 0 < activity_id <= MAX_ID else None
    if activity is None:
        refuse(principal, "act on another graduate's search", f"search_activity:{activity_id}")
    own_graduation(session, principal, activity.graduation_id)
    return activity


def _check_day(errors, name: str, day: date, graduation: Graduation, today: date) -> None:
    if day > today:
        errors.setdefault(name, []).append(_("cannot be in the future"))
    elif day < graduation.qualified_on:
        errors.setdefault(name, []).append(
            _(
                "cannot be before you qualified (%(day)s)",
                day=said_day(graduation.qualified_on),
            )
        )


def _text(errors, name: str, value: str | None, longest: int) -> str | None:
    value = (value or "").strip() or None
    if value is None:
        return None
    if len(value) > longest:
        errors.setdefault(name, []).append(_("at most %(most)s characters", most=longest))
    elif _CONTROL.search(value):
        errors.setdefault(name, []).append(_("use letters, digits and punctuation only"))
    return value


def _one_line(errors, name: str, value: str | None, longest: int) -> str | None:
    value = _text(errors, name, value, longest)
    if value is not None and name not in errors and _LINE_BREAK.search(value):
        errors[name] = [_("one line only")]
    return value


def _link(errors, value: str | None) -> str | None:
    value = _one_line(errors, "link", value, 2000)
    if value is None or "link" in errors:
        return value
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        errors["link"] = [_("give a web address starting with http:// or https://")]
    elif re.search(r"\s", value):
        errors["link"] = [_("a web address has no spaces")]
    return value


def _check_offer(errors, offer: OfferTerms) -> None:
    if not isinstance(offer.employment_type, EmploymentType):
        errors["employment_type"] = [_("choose a type of employment")]
    if offer.contract_months is not None and not 0 < offer.contract_months <= 600:
        errors["contract_months"] = [_("between 1 and 600 months")]
    if (offer.annual_salary_minor is None) != (offer.salary_currency is None):
        errors["salary_currency"] = [_("give the salary and its currency together")]
    if offer.annual_salary_minor is not None and not (
        0 < offer.annual_salary_minor <= MAX_SALARY_MINOR
    ):
        errors["annual_salary"] = [_("enter an amount above zero")]
    currency = offer.salary_currency
    if currency is not None and (
        not re.fullmatch(r"[A-Z]{3}", currency)
        or pycountry.currencies.get(alpha_3=currency) is None
    ):
        errors["salary_currency"] = [_("not an ISO 4217 currency code")]

"""The review's reasons after the sweep: the English they have always written, and that text
read back as the sentences it was written from (so that a page says them in French), or left
as stored when it cannot be told which."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.guarantee import obligations as o
from app.guarantee.obligations import (
    Activity,
    DeclinedOffer,
    Request,
    WeekCompliance,
    WeekState,
    search_compliance,
)
from app.guarantee.reasons import (
    BOTH,
    NOT_VOIDING,
    listed,
    not_voiding,
    read_offer,
    read_reasons,
    stopped_looking,
    void_reason,
)
from app.guarantee.sentences import Sentence
from app.guarantee.terms import EmploymentType, JobFacts, OfferDecision, PolicyTerms
from app.guarantee.terms import SearchActivityKind as Kind
from app.services.claim_review import obligation_reasons
from refunds.notes import OBLIGATIONS_NOT_MET, VOID, note, recognised

START = date(2027, 1, 5)
DAYS = st.dates(date(1900, 1, 1), date(2200, 12, 31))

#: Employer names as graduates type them: plain ones, and ones that hold what a reason writes
#: ("; ", a day, parentheses, a reason's words), which can make a list read two ways.
PLAIN_NAMES = st.from_regex(r"\A[A-Za-z][A-Za-z &.,'-]{0,20}\Z")
TRICKY_NAMES = st.one_of(
    st.sampled_from(
        [
            "Acme; Co",
            "Acme (UK)",
            "Acme (UK; Ltd",
            "; ",
            "B on 05 Mar 2027 (the policy does not void the claim); declined a qualifying offer"
            " from C",
            "X received 01 Feb 2027 reported 3 days later (policy: within 7); offer from Y",
            "week 3 (19 Jan 2027 to 25 Jan 2027): 2 of 5 applications; Z",
            "said they stopped looking for work on 01 Apr 2027",
            "an employer; an employer",
        ]
    ),
    st.lists(
        st.sampled_from([*"; ()0123:", " on ", " received ", "Jan", " 2027", "an employer", "A"]),
        min_size=1,
        max_size=12,
    ).map("".join),
)
#: A name typed "an employer" reads as the rule's words for an employer not named (the same
#: meaning, said "un employeur"): left out where a reading must give back the name typed.
NAMES = st.one_of(st.none(), PLAIN_NAMES, TRICKY_NAMES).filter(lambda name: name != "an employer")


def shape(value):
    """A sentence as what it is made of (``==`` on sentences compares their English only)."""
    if isinstance(value, Sentence):
        values = {name: shape(part) for name, part in value.values.items()}
        return value.message, value.plural, values
    return type(value), value


def plain(name: str | None) -> bool:
    """Whether an employer's name holds nothing a reason writes: no "; ", no digit."""
    return name is None or ("; " not in name and not any(c.isdigit() for c in name))


# The English the review has always written (stored notes of the past are read by it).


@given(
    employer=st.none() | st.text(min_size=1, max_size=30),
    received=DAYS,
    declined=st.none() | DAYS,
    day=DAYS,
)
def test_the_reviews_reasons_write_the_english_they_always_wrote(employer, received, declined, day):
    offer = DeclinedOffer(employer, received, declined)

    assert void_reason(offer) == f"void: {offer.description}; the policy voids the claim"
    assert not_voiding(offer) == f"{offer.description} (the policy does not void the claim)"
    assert stopped_looking(day) == f"said they stopped looking for work on {day:%d %b %Y}"


def test_each_reason_writes_the_words_stored_notes_hold():
    offer = DeclinedOffer("Acme", date(2025, 3, 3), date(2025, 3, 5))
    assert str(void_reason(offer)) == (
        "void: declined a qualifying offer from Acme on 05 Mar 2025; the policy voids the claim"
    )
    assert str(not_voiding(DeclinedOffer(None, date(2025, 3, 3), None))) == (
        "declined a qualifying offer from an employer on 03 Mar 2025 (the policy does not void"
        " the claim)"
    )
    assert str(stopped_looking(date(2025, 4, 1))) == (
        "said they stopped looking for work on 01 Apr 2025"
    )


@given(reasons=st.lists(st.text(max_size=20), min_size=1, max_size=40))
def test_a_list_of_reasons_writes_them_joined_by_semicolons(reasons):
    assert listed(reasons) == "; ".join(reasons)


# Reasons the rule writes for generated search logs, read back.

TERMS = st.builds(
    PolicyTerms,
    weekly_applications=st.sampled_from((0, 1, 3)),
    coaching_every_weeks=st.sampled_from((None, 1, 2)),
    answer_within_days=st.sampled_from((None, 0, 1, 3)),
    report_offers_within_days=st.sampled_from((None, 0, 2, 7)),
)
OFFERS = st.tuples(
    st.integers(0, 40),  # received, days after the start
    st.sampled_from((0, 1, 5, 12)),  # logged that many days later
    st.sampled_from(tuple(OfferDecision)),
    st.booleans(),  # qualifying (permanent) or not (an internship)
    NAMES,
)
#: (asked, days after the start; at minute; answered that many hours later, or never).
QUESTIONS = st.tuples(
    st.integers(0, 40), st.integers(0, 24 * 60 - 1), st.none() | st.integers(0, 24 * 6)
)


@st.composite
def records(draw):
    """What ``obligation_reasons`` reads of a graduate's search record, judged by the rule on
    a generated log, with the claim's deadline."""
    terms = draw(TERMS)
    deadline = START + timedelta(days=draw(st.integers(6, 48)))
    activities = [
        Activity(kind, START + timedelta(days=days), START + timedelta(days=days))
        for kind, days in draw(
            st.lists(
                st.tuples(st.sampled_from((Kind.APPLICATION, Kind.COACHING_CHECKIN)),
                          st.integers(0, 48)),
                max_size=12,
            )
        )
    ]  # fmt: skip
    for days, late, decision, qualifies, employer in draw(st.lists(OFFERS, max_size=3)):
        received = START + timedelta(days=days)
        job = JobFacts(
            EmploymentType.FULL_TIME_PERMANENT if qualifies else EmploymentType.INTERNSHIP,
            in_field=True,
            start_date=received + timedelta(days=14),
            contract_months=None if qualifies else 3,
        )
        decided = None if decision is OfferDecision.PENDING else received + timedelta(days=1)
        logged = received + timedelta(days=late)
        activities.append(Activity(Kind.OFFER, received, logged, job, decision, employer, decided))
    requests = []
    for days, minute, hours in draw(st.lists(QUESTIONS, max_size=3)):
        asked = datetime.combine(START + timedelta(days=days), datetime.min.time(), tzinfo=UTC)
        asked += timedelta(minutes=minute)
        requests.append(Request(asked, None if hours is None else asked + timedelta(hours=hours)))
    stopped = draw(st.none() | st.integers(0, 60).map(lambda days: START + timedelta(days=days)))
    compliance = search_compliance(
        terms=terms,
        window_start=START,
        deadline=deadline,
        activities=activities,
        requests=requests,
        pauses=[],
        as_of=deadline + timedelta(days=4),
    )
    record = SimpleNamespace(
        terms=terms,
        compliance=compliance,
        graduation=SimpleNamespace(stopped_seeking_on=stopped),
        deadline=deadline,
    )
    return record


def reasons_of(value) -> list:
    """The reasons of a list ``listed`` wrote, in order."""
    if isinstance(value, Sentence) and value.message == BOTH:
        return [*reasons_of(value.values["before"]), *reasons_of(value.values["after"])]
    return [value]


def employers(reasons: list[Sentence]) -> list[str | None]:
    """The employers' names the reasons hold, as typed (``None`` for one not named)."""
    names = []
    for reason in reasons:
        for value in (reason, *reason.values.values()):
            if isinstance(value, Sentence) and "employer" in value.values:
                employer = value.values["employer"]
                names.append(None if isinstance(employer, Sentence) else employer)
    return names


def may_read_two_ways(reasons: list[Sentence]) -> bool:
    """Whether employers' names could make the reasons read two ways: a name holding what a
    reason writes, or two reasons of a kind naming an employer (the first one's name could
    run on into the second: "offer from A received ...; offer from B ...")."""
    kinds = Counter(reason.message for reason in reasons)
    return (
        not all(plain(name) for name in employers(reasons))
        or kinds[o.OFFER_REPORTED_LATE] > 1
        or kinds[NOT_VOIDING] > 1
    )


def assert_read_back(written: Sentence) -> None:
    """The note ``written`` is recognised from its English, each reason (or the declined
    offer) as the very sentence it was written from; reasons that employers' names make read
    two ways are left as the text stored, never read one way at a guess."""
    found = recognised(str(written))
    assert found is not None and found.message == written.message
    assert found == written
    (name,) = written.values  # "reasons" or "offer"
    originals = reasons_of(written.values[name])
    position = 0
    for item in reasons_of(found.values[name]):
        if isinstance(item, Sentence):
            assert shape(item) == shape(originals[position])
            position += 1
        else:  # the text of the reasons from ``position`` on, as stored
            assert type(item) is str
            runs = range(position + 1, len(originals) + 1)
            position = next(end for end in runs if "; ".join(originals[position:end]) == item)
    assert position == len(originals)
    if not may_read_two_ways(originals):
        assert shape(found) == shape(written)


@given(record=records(), voids=st.booleans())
def test_the_reasons_of_any_search_log_are_read_back_as_the_sentences_they_were(record, voids):
    record.terms = replace(record.terms, declined_offer_voids=voids)

    void, reasons = obligation_reasons(record)

    if void is not None:
        assert_read_back(void)
    if reasons:
        assert_read_back(note(OBLIGATIONS_NOT_MET, reasons=listed(reasons)))


# Reasons built one by one by the rule's own constructors, in any order, read back.

WEEKS = st.builds(
    lambda number, first, length, done, required, coached: WeekCompliance(
        number, first, first + timedelta(days=length), length + 1, done, required, True,
        coached, WeekState.MISSED,
    ),
    st.integers(1, 120), DAYS, st.integers(0, 6), st.integers(0, 9), st.integers(1, 40),
    st.booleans(),
)  # fmt: skip
INSTANTS = st.datetimes(datetime(1950, 1, 1), datetime(2150, 1, 1), timezones=st.just(UTC)).map(
    lambda moment: moment.replace(second=0, microsecond=0)
)
REASONS = st.one_of(
    st.builds(
        lambda week, every: o._week_shortfalls(week, PolicyTerms(coaching_every_weeks=every)),
        WEEKS,
        st.integers(1, 9),
    ).filter(bool),
    st.builds(
        lambda asked, late, within: [
            Sentence(o.ANSWERED_LATE, asked=asked, late=o._days(late), within=o._days(within))
        ],
        DAYS, st.integers(1, 400), st.integers(0, 400),
    ),
    st.builds(
        lambda asked, due, within: [
            Sentence(o.NOT_ANSWERED, asked=asked, due=due, within=o._days(within))
        ],
        DAYS, INSTANTS, st.integers(0, 400),
    ),
    st.builds(
        lambda employer, received, delay, within: [
            Sentence(
                o.OFFER_REPORTED_LATE, employer=o._employer(employer), received=received,
                delay=o._days(delay), within=within,
            )
        ],
        NAMES, DAYS, st.integers(1, 400), st.integers(0, 400),
    ),
    st.builds(
        lambda employer, received, declined: [
            not_voiding(DeclinedOffer(employer, received, declined))
        ],
        NAMES, DAYS, st.none() | DAYS,
    ),
    st.builds(lambda day: [stopped_looking(day)], DAYS),
)  # fmt: skip


@given(groups=st.lists(REASONS, min_size=1, max_size=12))
def test_any_list_of_the_rules_reasons_is_read_back_as_itself(groups):
    reasons = [reason for group in groups for reason in group]
    written = note(OBLIGATIONS_NOT_MET, reasons=listed(reasons))

    assert_read_back(written)


@given(employer=NAMES, received=DAYS, declined=st.none() | DAYS)
def test_a_void_reason_is_read_back_with_its_offer(employer, received, declined):
    written = void_reason(DeclinedOffer(employer, received, declined))

    assert_read_back(written)


# What is read back, and what is not.


def test_the_reasons_of_a_note_stored_before_are_read_as_sentences():
    stored = (
        "week 3 (15 Jun 2026 to 21 Jun 2026): 1 of 2 applications; question asked 01 Mar 2026"
        " not answered; it was due 04 Mar 2026 09:00 UTC (policy: within 3 days); said they"
        " stopped looking for work on 01 Apr 2026"
    )

    found = read_reasons(stored)

    assert found == stored
    assert shape(found) == shape(
        listed(
            [
                Sentence(
                    o.WEEK_APPLICATIONS,
                    week=o._week_label(3, date(2026, 6, 15), date(2026, 6, 21)),
                    done=1,
                    required=2,
                ),
                Sentence(
                    o.NOT_ANSWERED,
                    asked=date(2026, 3, 1),
                    due=datetime(2026, 3, 4, 9, tzinfo=UTC),
                    within=o._days(3),
                ),
                stopped_looking(date(2026, 4, 1)),
            ]
        )
    )


def test_a_list_an_employers_name_makes_read_two_ways_is_left_as_stored():
    """'B on 05 Mar 2027 (...); declined a qualifying offer from C' is one offer's employer, or
    ends a first offer and starts a second: the text is kept, not said one way at a guess."""
    name = (
        "B on 05 Mar 2027 (the policy does not void the claim); declined a qualifying offer from C"
    )
    reason = not_voiding(DeclinedOffer(name, date(2027, 3, 6), None))

    found = recognised(str(note(OBLIGATIONS_NOT_MET, reasons=listed([reason]))))

    assert found.message == OBLIGATIONS_NOT_MET
    assert type(found.values["reasons"]) is str and found.values["reasons"] == reason


@pytest.mark.parametrize(
    "text",
    [
        "looked fine to me",
        "week 3 (15 Jun 2026 to 21 Jun 2026): 1 of 2 applications; typed by a person",
        "week 3 (31 Jun 2026 to 21 Jun 2026): 1 of 2 applications",  # no such day
        "week 3 (15 Jun 2026 to 21 Jun 2026): 01 of 2 applications",  # not how it is written
        "question asked 01 Mar 2026 answered 1 days late (policy: within 3 days)",
        "said they stopped looking for work on 01 Apr 2026; ",
        "; ",
    ],
)
def test_text_no_list_of_reasons_wrote_is_left_as_it_is(text):
    assert type(read_reasons(text)) is str and read_reasons(text) == text


def test_an_offer_text_not_written_from_an_offer_is_left_as_it_is():
    assert type(read_offer("an offer I made up")) is str
    found = recognised("void: an offer I made up; the policy voids the claim")
    assert found.message == VOID and found.values == {"offer": "an offer I made up"}


def test_a_long_list_reads_back_quickly():
    """A year of missed weeks, each short of applications and of a check-in."""
    weeks = [
        WeekCompliance(n, START + timedelta(days=7 * n), START + timedelta(days=7 * n + 6), 7,
                       0, 3, True, False, WeekState.MISSED)
        for n in range(1, 53)
    ]  # fmt: skip
    reasons = [
        r
        for week in weeks
        for r in o._week_shortfalls(
            week, PolicyTerms(weekly_applications=3, coaching_every_weeks=1)
        )
    ]
    reasons.append(not_voiding(DeclinedOffer("Acme; Co (UK)", START, None)))
    written = listed(reasons)

    assert shape(read_reasons(str(written))) == shape(written)

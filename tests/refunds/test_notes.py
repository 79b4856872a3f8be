"""The notes the system writes in a claim's history are recognised again from their English,
whatever their values, so that a page can say them in its reader's language."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.guarantee.obligations import DeclinedOffer
from app.guarantee.sentences import IsoDay
from refunds import notes
from refunds.amounts import describe_money
from refunds.notes import NOTES, note, recognised
from refunds.states import ClaimState

#: What a note's value is, by its name, as its writers give it: a day, a claim's state, an id,
#: an actor (``finance:ada@school.example``), an amount (``describe_money``), or text.
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)
VALUES = {
    "day": st.dates(date(2000, 1, 1), date(2100, 12, 31)).map(IsoDay.of),
    "state": st.sampled_from(ClaimState),
    "job": st.integers(1, 10**9),
    "payment": st.integers(1, 10**9),
    "actor": st.from_regex(r"\A(finance|admin|system):[a-z.@]{1,20}\Z"),
    "amount": st.integers(0, 10**9).map(lambda minor: describe_money(minor, "EUR")),
    "was": st.one_of(
        st.just("an unknown amount"),
        st.integers(0, 10**9).map(lambda minor: describe_money(minor, "JPY")),
    ),
    "offer": st.builds(
        lambda employer, day: DeclinedOffer(employer, day, None).description,
        st.none() | TEXT,
        st.dates(date(2000, 1, 1), date(2100, 12, 31)),
    ),
}


def _values(message: str):
    names = notes._PLACEHOLDER.findall(message)
    return st.fixed_dictionaries({name: VALUES.get(name, TEXT) for name in names})


@pytest.mark.parametrize("message", NOTES)
@given(data=st.data())
def test_every_note_is_recognised_from_its_english_with_its_values(message, data):
    written = note(message, **data.draw(_values(message)))

    found = recognised(str(written))

    assert found is not None
    assert found.message == message
    assert {name: str(value) for name, value in found.values.items()} == {
        name: str(value) for name, value in written.values.items()
    }


@pytest.mark.parametrize(
    "typed",
    [
        "offre refusée, à vérifier",
        "window closed without a qualifying job",  # no day: not what the sweep writes
        "window closed without a qualifying job (sweep as of 2026-02-30)",  # no such day
        "",
        None,
    ],
)
def test_text_no_note_wrote_is_not_recognised(typed):
    assert recognised(typed) is None


def test_a_recognised_day_and_state_are_a_day_and_a_state_again():
    found = recognised(str(note(notes.JOB_REPORTED_AFTER_PAYMENT, job=7, state=ClaimState.PAYING)))
    assert found.values == {"job": "7", "state": ClaimState.PAYING}
    swept = recognised("window closed without a qualifying job (sweep as of 2026-07-01)")
    assert swept.values == {"day": IsoDay(2026, 7, 1)}

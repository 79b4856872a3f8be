"""The rules' sentences: the same English text as ever (stored, served, compared), and the same
sentence said again in a reader's language, with days and times as they write them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from flask import g
from flask_babel import force_locale, refresh

from app.guarantee.obligations import WeekCompliance, WeekState
from app.guarantee.sentences import N_, IsoDay, Sentence
from app.pages.sentences import said

DUE = datetime(2027, 1, 8, 14, 0, tzinfo=UTC)


def test_a_sentence_is_its_english_text_with_days_and_instants_written_as_before():
    sentence = Sentence(
        N_("question asked %(asked)s: answer by %(due)s"), asked=date(2027, 1, 5), due=DUE
    )

    assert sentence == "question asked 05 Jan 2027: answer by 08 Jan 2027 14:00 UTC"
    assert isinstance(sentence, str)
    assert Sentence(
        N_("the job starts after the guarantee deadline (%(deadline)s)"),
        deadline=IsoDay.of(date(2027, 3, 1)),
    ) == ("the job starts after the guarantee deadline (2027-03-01)")


@pytest.mark.parametrize(("count", "english"), [(1, "1 day"), (3, "3 days")])
def test_a_plural_sentence_chooses_its_english_form_by_count(count, english):
    assert Sentence(N_("%(count)s day"), N_("%(count)s days"), count=count) == english


@pytest.mark.parametrize(
    ("locale", "zone", "expected"),
    [
        (
            "en_GB",
            "Europe/London",
            "question asked 5 Jan 2027: answer by 8 Jan 2027, 14:00 (London)",
        ),
        (
            "fr_CA",
            "America/Toronto",
            "question posée le 5 janv. 2027\u00a0: réponse attendue d’ici le 8 janv. 2027,"
            " 09 h 00 (Toronto)",
        ),
    ],
)
def test_a_page_says_the_sentence_in_its_readers_language_and_time_zone(
    app, locale, zone, expected
):
    sentence = Sentence(
        N_("question asked %(asked)s: answer by %(due)s"), asked=date(2027, 1, 5), due=DUE
    )
    with app.test_request_context(), force_locale(locale):
        g.forced_time_zone = zone
        refresh()
        assert said(sentence) == expected


def test_a_rule_reason_said_in_french_names_the_week_and_the_coded_value_in_french(app):
    week = WeekCompliance(
        3, date(2027, 1, 12), date(2027, 1, 18), 7, 1, 5, False, None, WeekState.MISSED
    )
    with app.test_request_context(), force_locale("fr_FR"):
        assert said(week.label) == "semaine 3 (du 12 janv. 2027 au 18 janv. 2027)"
    assert week.label == "week 3 (12 Jan 2027 to 18 Jan 2027)"


def test_text_that_is_not_a_sentence_is_said_as_it_is(app):
    with app.test_request_context(), force_locale("fr_FR"):
        assert said("a note the school typed") == "a note the school typed"

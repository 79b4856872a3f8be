"""Sentences the guarantee's rules write about a graduate, readable in every language.

A rule's reason ("the salary is under the policy's pay floor", "question asked 05 Jan 2027 not
answered; it was due 08 Jan 2027 09:00 UTC") is stored with a claim, served by the API, emailed
and compared by tests: everywhere as the same English text. A ``Sentence`` is that text (it *is*
a ``str``), and it also keeps the message and its values, so that a page can say it again in its
reader's language, with days and times as the reader writes them (``app.pages.sentences``).

Pure: no Flask here. Messages are marked with ``N_`` so that the catalogue finds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from enum import Enum


def N_(message: str) -> str:  # noqa: N802 - the name the catalogue looks for
    """Mark ``message`` for translation; it is translated where it is read."""
    return message


class Sentence(str):
    """English text made of a message and its values, which can be said again in French."""

    message: str
    plural: str | None
    values: Mapping[str, object]

    def __new__(cls, message: str, plural: str | None = None, **values: object) -> Sentence:
        chosen = plural if plural is not None and values.get("count") != 1 else message
        # ``%s`` writes every value as ``str`` does, which is its English but for days and
        # instants: only those are written apart (a review writes thousands of sentences).
        english = values
        for name, value in values.items():
            if isinstance(value, date):
                if english is values:
                    english = dict(values)
                english[name] = _english(value)
        sentence = super().__new__(cls, chosen % english)
        sentence.__dict__.update(message=message, plural=plural, values=values)
        return sentence


#: The months as ``%b`` writes them in the C locale, whatever locale the process runs in.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _english(value: object) -> str:
    """A value as the English sentences have always written it (stored reasons keep it)."""
    kind = type(value)  # the commonest first: a review writes thousands of missed weeks
    if kind is date:
        return _day(value)
    if kind is int or kind is Sentence:
        return str(value)
    if isinstance(value, IsoDay):
        return value.isoformat()
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        moment = moment.astimezone(UTC)
        return f"{_day(moment)} {moment.hour:02d}:{moment.minute:02d} UTC"
    if isinstance(value, date):
        return _day(value)
    return str(value)


def _day(day: date) -> str:
    # "05 Jan 2027", as ``strftime("%d %b %Y")`` writes it in English, without its cost.
    return f"{day.day:02d} {_MONTHS[day.month - 1]} {day.year}"


class IsoDay(date):
    """A day some English sentences write as ``2027-01-05`` (and a page as its reader does)."""

    @classmethod
    def of(cls, day: date) -> IsoDay:
        return cls(day.year, day.month, day.day)


class Coded(str):
    """A coded value (``further_study``) that a sentence writes as English words (``further
    study``), and a page says as its label in the reader's language."""

    code: Enum

    def __new__(cls, code: Enum) -> Coded:
        words = super().__new__(cls, str(code.value).replace("_", " "))
        words.code = code
        return words

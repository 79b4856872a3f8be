"""The guarantee's sentences (``app.guarantee.sentences``) said in the reader's language, with
days and times as the reader writes them, in their time zone."""

from __future__ import annotations

from datetime import date
from enum import Enum

from flask_babel import get_translations

from app.guarantee.sentences import Coded, Sentence
from app.labels import label
from app.pages.formatting import day
from refunds.notes import recognised


def said(text):
    """``text`` in the reader's language when it is a ``Sentence``; other text as it is."""
    if not isinstance(text, Sentence):
        return text
    translations = get_translations()
    if text.plural is not None:
        template = translations.ungettext(text.message, text.plural, text.values.get("count", 1))
    else:
        template = translations.ugettext(text.message)
    return template % {name: _value(value) for name, value in text.values.items()}


def said_again(text):
    """A note the system stored in English in a claim's history (``refunds.notes``), said in
    the reader's language; text a person typed as it is."""
    sentence = recognised(text)
    return said(sentence) if sentence is not None else text


def _value(value):
    if isinstance(value, Sentence):
        return said(value)
    if isinstance(value, Coded):
        return label(value.code)
    if isinstance(value, date):  # a datetime too: shown in the reader's time zone
        return day(value)
    if isinstance(value, Enum):
        return label(value)
    return value

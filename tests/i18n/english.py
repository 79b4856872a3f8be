"""Finding English left on a page a French reader reads.

A page's readable text (its text nodes, and the attributes people read: ``title``, ``alt``,
``placeholder``, ``aria-label``, ``value`` of buttons) is split where the markup splits it; a
piece that holds a word only English has (``the``, ``your``, ``claim`` ...) is English left
untranslated. What people typed (names, titles, notes: data, never translated) is taken out
first, as is what is English on purpose (the languages offered, each in its own words).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator

#: Words English has and French does not (nor the names and codes the pages write): function
#: words, and the words of this service's pages. A French page holding one left English behind.
_ENGLISH_WORDS = """
    the and your you of to is are was were has have this that with for from not by will can
    when what who how been their its be if all any there here these those which would should
    could must than then into out up over after before about each every only also more most
    some such same other our we they them his her my do does did done get see use new
    yes none yet still until since without within between show save back next previous
    sign claim claims refund refunds refunded graduate graduates job jobs search week weeks
    employer employers enrollment enrollments payment payments amount amounts deadline
    deadlines days months years today none nothing found download upload choose enter
"""
ENGLISH_ONLY = frozenset(_ENGLISH_WORDS.split())

#: English a French page shows on purpose: the languages offered, named in their own words.
ON_PURPOSE = (
    "English (United Kingdom)",
    "English (United States)",
    "English (Canada)",
)

_SKIPPED = re.compile(r"<(script|style|code|pre)\b.*?</\1>|<!--.*?-->", re.S | re.I)
_TAG = re.compile(r"<[^>]*>")
_READ_ATTRIBUTE = re.compile(r'\s(?:title|alt|placeholder|aria-label)="([^"]*)"', re.I)
_BUTTON_VALUE = re.compile(r'<input[^>]*type="(?:submit|button)"[^>]*value="([^"]*)"', re.I)
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
#: Addresses and identifiers: an email, a URL, a path, a dotted or underscored code.
_NOT_WORDS = re.compile(r"\S+@\S+|https?://\S+|/\S+|\b\w+[._]\w+\b")


def readable_pieces(page: str) -> Iterator[str]:
    """The pieces of text a reader of ``page`` reads, one per run of text between tags."""
    body = _SKIPPED.sub(" ", page)
    for match in _READ_ATTRIBUTE.finditer(body):
        yield html.unescape(match.group(1))
    for match in _BUTTON_VALUE.finditer(body):
        yield html.unescape(match.group(1))
    for piece in _TAG.split(body):
        text = " ".join(html.unescape(piece).split())
        if text:
            yield text


def has_english(text: str) -> bool:
    """Whether ``text`` holds a word only English has."""
    return any(word.lower() in ENGLISH_ONLY for word in _WORD.findall(text))


def data_with_english(values: Iterable[str]) -> list[str]:
    """The values people typed that hold English words (longest first): they are data, not
    words to translate, and are taken out of a page before it is read for English."""
    return sorted({value for value in values if has_english(value)}, key=len, reverse=True)


def english_left(page: str, data: Iterable[str] = ()) -> list[str]:
    """The pieces of ``page`` still in English once data and what is English on purpose are
    taken out."""
    data = list(data)
    found = []
    for piece in readable_pieces(page):
        text = piece
        for value in (*ON_PURPOSE, *data):
            if value in text:
                text = text.replace(value, " ")
        text = _NOT_WORDS.sub(" ", text)
        if has_english(text):
            found.append(piece)
    return found

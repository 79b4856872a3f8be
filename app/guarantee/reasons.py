"""Why the review after the sweep sends a claim to review or voids it, and that text read back.

The review (``app.services.claim_review``) stores its reasons in English in the claim's
history: the rule's shortfalls (``app.guarantee.obligations``) and its own (a declined offer the
policy does not void, having stopped looking for work), joined by "; " (``listed``), and the
reason a claim is void. ``read_reasons`` and ``read_offer`` find again the sentences such a
text was written from, so that the claim page says them in its reader's language.

A reading is kept only when rebuilding its sentences gives the text back exactly, and no other
reading does. An employer is named as the graduate typed it, so a name could hold "; " and the
words of the next reason: where a list reads two ways, the reasons concerned are left as
stored (shown in English, never said wrong), the others said. A name typed "an employer"
reads as the rule's own words for an employer not named; they mean the same.

Pure: no Flask here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from itertools import pairwise

from app.guarantee import obligations as o
from app.guarantee.sentences import _MONTHS, N_, Sentence

#: The review's own reasons to send a claim to review, and the reason it voids one.
NOT_VOIDING = N_("%(offer)s (the policy does not void the claim)")
STOPPED_LOOKING = N_("said they stopped looking for work on %(day)s")
VOID = N_("void: %(offer)s; the policy voids the claim")
#: Two parts of a list of reasons (each a reason, or a list itself).
SEPARATOR = "; "
BOTH = N_("%(before)s; %(after)s")


def not_voiding(offer: o.DeclinedOffer) -> Sentence:
    """'declined a qualifying offer from Acme on 05 Mar 2025 (the policy does not void ...)'."""
    return Sentence(NOT_VOIDING, offer=offer.description)


def stopped_looking(day: date) -> Sentence:
    """'said they stopped looking for work on 01 Apr 2025'."""
    return Sentence(STOPPED_LOOKING, day=day)


def void_reason(offer: o.DeclinedOffer) -> Sentence:
    """'void: declined a qualifying offer from Acme on 05 Mar 2025; the policy voids ...'."""
    return Sentence(VOID, offer=offer.description)


def listed(reasons: Sequence[str]) -> str:
    """The reasons as one text, "; " between two: a sentence of two halves (``BOTH``), each a
    reason or the list of its half (nested by halves, so that a hundred reasons nest seven
    deep), which a page says with its language's separator. At least one reason."""
    if len(reasons) == 1:
        return reasons[0]
    half = len(reasons) // 2
    return Sentence(BOTH, before=listed(reasons[:half]), after=listed(reasons[half:]))


def read_reasons(text: str) -> str:
    """The reasons ``listed`` wrote ``text`` from, as a list of sentences again; ``text``
    itself when it was not written from reasons.

    The pieces between each "; " are grouped, in order, each group read as one reason (a
    reason holds a "; " of its own where its message writes one, ``NOT_ANSWERED``, or in an
    employer's name). Where the pieces can be grouped two ways (an employer's name could hold
    "; " and the next reason's words: "offer from A received ...; offer from B received ..."
    could be one offer, from an employer so named), the reasons they could be are kept as
    the text stored, the others read as sentences.
    """
    pieces = text.split(SEPARATOR)
    count = len(pieces)
    starts = [0]
    for piece in pieces:
        starts.append(starts[-1] + len(piece) + len(SEPARATOR))

    def joined(first: int, end: int) -> str:  # the pieces from ``first`` to before ``end``
        return text[starts[first] : starts[end] - len(SEPARATOR)]

    # Each group of pieces that reads as one reason, ``(first, end)``, with its readings.
    groups: dict[tuple[int, int], list[Sentence]] = {}
    for first in range(count):
        for reason in _REASONS:
            if not text.startswith(reason.prefix, starts[first]):
                continue
            most = count if reason.separators is None else first + reason.separators + 1
            for end in range(first + 1, min(most, count) + 1):
                if readings := list(reason.read(joined(first, end))):
                    groups.setdefault((first, end), []).extend(readings)
    # The groups some reading of the whole text is made of: after pieces read as reasons,
    # before pieces read as reasons.
    read_to = [True] + [False] * count
    for first, end in sorted(groups):
        read_to[end] = read_to[end] or read_to[first]
    read_from = [False] * count + [True]
    for first, end in sorted(groups, reverse=True):
        read_from[first] = read_from[first] or read_from[end]
    used = [(first, end) for first, end in groups if read_to[first] and read_from[end]]
    if not used:
        return text
    # Where every reading divides the text; between two such places one reason read one
    # way, or reasons that read several ways (kept as stored).
    cuts = [
        place
        for place in range(count + 1)
        if read_to[place] and not any(first < place < end for first, end in used)
    ]
    items: list[str] = []
    for first, end in pairwise(cuts):
        inside = [group for group in used if first <= group[0] and group[1] <= end]
        readings = groups.get((first, end), [])
        items.append(
            readings[0] if inside == [(first, end)] and len(readings) == 1 else joined(first, end)
        )
    reasons = listed(items)
    return reasons if reasons == text and any(isinstance(i, Sentence) for i in items) else text


def read_offer(text: str) -> str:
    """The declined offer's description (``DeclinedOffer.description``) ``text`` is, or
    ``text`` itself when it is not one, or reads two ways."""
    readings = list(_OFFER.read(text))
    return readings[0] if len(readings) == 1 else text


class _Kind:
    """How the text a placeholder was written as is read back: ``read`` yields every value it
    could have been written from; ``separators`` is the most "; " such a text holds (``None``:
    any number, free text), ``prefix`` what every such text starts with."""

    def __init__(
        self,
        read: Callable[[str], Iterator[object]],
        separators: int | None = 0,
        prefix: str = "",
    ) -> None:
        self.read = read
        self.separators = separators
        self.prefix = prefix


_DAY_PATTERN = re.compile(rf"(\d{{2}}) ({'|'.join(_MONTHS)}) (\d{{1,4}})")
_INSTANT_PATTERN = re.compile(rf"{_DAY_PATTERN.pattern} (\d{{2}}):(\d{{2}}) UTC")
_COUNT_PATTERN = re.compile(r"[0-9]+")


def _read_day(text: str) -> Iterator[date]:
    """'05 Jan 2027' (``sentences._day``)."""
    if match := _DAY_PATTERN.fullmatch(text):
        day, month, year = match.groups()
        try:
            yield date(int(year), _MONTHS.index(month) + 1, int(day))
        except ValueError:
            return


def _read_instant(text: str) -> Iterator[datetime]:
    """'05 Jan 2027 09:00 UTC'."""
    if match := _INSTANT_PATTERN.fullmatch(text):
        day, month, year, hour, minute = match.groups()
        try:
            yield datetime(
                int(year), _MONTHS.index(month) + 1, int(day), int(hour), int(minute), tzinfo=UTC
            )
        except ValueError:
            return


def _read_count(text: str) -> Iterator[int]:
    if _COUNT_PATTERN.fullmatch(text):
        yield int(text)


def _read_text(text: str) -> Iterator[str]:
    if text:
        yield text


_DAY = _Kind(_read_day)
_INSTANT = _Kind(_read_instant)
_COUNT = _Kind(_read_count)
_TEXT = _Kind(_read_text, separators=None)
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _sentence(message: str, plural: str | None = None, **kinds: _Kind) -> _Kind:
    """The ``Sentence`` of ``message`` (``plural``) whose values are read as ``kinds`` say: a
    reading is kept when the sentence it builds is the text read."""
    forms = [_PLACEHOLDER.split(form) for form in (message, plural) if form is not None]

    def read(text: str) -> Iterator[Sentence]:
        for form in forms:  # literal, name, literal, ..., literal
            literals, names = form[0::2], form[1::2]
            if not text.startswith(literals[0]):
                continue
            for values in _values(text, len(literals[0]), literals[1:], names, kinds):
                if plural is not None and "count" not in values:
                    values["count"] = 1  # the singular that writes no number: "week"
                sentence = Sentence(message, plural, **values)
                if sentence == text:
                    yield sentence

    counts = []
    for form in forms:
        nested = [kinds[name].separators for name in form[1::2]]
        literal = sum(piece.count(SEPARATOR) for piece in form[0::2])
        counts.append(None if None in nested else literal + sum(nested))
    prefixes = [form[0] or (kinds[form[1]].prefix if len(form) > 1 else "") for form in forms]
    prefix = prefixes[0] if all(p == prefixes[0] for p in prefixes) else ""
    return _Kind(read, None if None in counts else max(counts), prefix)


def _values(
    text: str, start: int, literals: list[str], names: list[str], kinds: dict[str, _Kind]
) -> Iterator[dict[str, object]]:
    """Every way the rest of ``text`` from ``start`` reads as ``names`` each followed by its
    literal (the last one ending the text)."""
    if not names:
        if start == len(text):
            yield {}
        return
    name, after = names[0], literals[0]
    if len(names) == 1:
        ends = [len(text) - len(after)] if text.endswith(after) else []
    else:
        ends = []
        end = text.find(after, start)
        while end != -1:
            ends.append(end)
            end = text.find(after, end + 1)
    for end in ends:
        if end < start:
            continue
        for value in kinds[name].read(text[start:end]):
            for rest in _values(text, end + len(after), literals[1:], names[1:], kinds):
                yield {name: value, **rest}


def _first(*kinds: _Kind) -> _Kind:
    """The readings of the first of ``kinds`` that reads the text at all."""

    def read(text: str) -> Iterator[object]:
        for kind in kinds:
            readings = list(kind.read(text))
            if readings:
                yield from readings
                return

    counts = [kind.separators for kind in kinds]
    return _Kind(read, None if None in counts else max(counts))


_DAYS_PHRASE = _sentence(o.DAY, o.DAYS, count=_COUNT)
_WEEKS_PHRASE = _sentence(o.A_WEEK, o.WEEKS, count=_COUNT)
_WEEK_LABEL = _sentence(o.WEEK_LABEL, number=_COUNT, first=_DAY, last=_DAY)
_EMPLOYER = _first(_sentence(o.AN_EMPLOYER), _TEXT)
_OFFER = _sentence(o.DECLINED_OFFER, employer=_EMPLOYER, day=_DAY)

#: Every reason the review lists, as it is read back.
_REASONS = (
    _sentence(o.WEEK_APPLICATIONS, week=_WEEK_LABEL, done=_COUNT, required=_COUNT),
    _sentence(o.WEEK_COACHING, week=_WEEK_LABEL, every=_WEEKS_PHRASE),
    _sentence(o.ANSWERED_LATE, asked=_DAY, late=_DAYS_PHRASE, within=_DAYS_PHRASE),
    _sentence(o.NOT_ANSWERED, asked=_DAY, due=_INSTANT, within=_DAYS_PHRASE),
    _sentence(
        o.OFFER_REPORTED_LATE,
        employer=_EMPLOYER,
        received=_DAY,
        delay=_DAYS_PHRASE,
        # Written as a bare number ("within 7") before it said its unit.
        within=_first(_DAYS_PHRASE, _COUNT),
    ),
    _sentence(NOT_VOIDING, offer=_OFFER),
    _sentence(STOPPED_LOOKING, day=_DAY),
)

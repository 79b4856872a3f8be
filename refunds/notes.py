"""What the system writes in a claim's history, as messages.

A note is stored with the claim's transition in English: the audit trail reads the same whoever
looks, and the API serves it so. The claim page says it again in its reader's language:
``recognised`` finds which of ``NOTES`` wrote a stored note, and with which values, and
``app.pages.sentences.said`` says that ``Sentence`` in French. Every writer builds its note from
these messages (``note``), so that what is written is what is recognised; a note a person typed
is not one of them and is shown as typed.
"""

from __future__ import annotations

import re
from datetime import date

from app.guarantee import reasons
from app.guarantee.sentences import N_, IsoDay, Sentence
from refunds.states import ClaimState

SWEPT = N_("window closed without a qualifying job (sweep as of %(day)s)")
REOPENED = N_("the records now say the graduate is owed a refund (sweep as of %(day)s)")
AMOUNT_CHANGED = N_(
    "the refundable amount is now %(amount)s, not the %(was)s %(actor)s approved: the approvals"
    " start again"
)
#: The same, for a first approval recorded before approvals kept the amount they approved.
AMOUNT_CHANGED_FROM_UNKNOWN = N_(
    "the refundable amount is now %(amount)s; %(actor)s approved without an amount: the"
    " approvals start again"
)
FIRST_APPROVAL = N_("first of two approvals: %(reason)s")
NOTHING_TO_REFUND = N_("nothing to refund")
SETTLED_BY_TRANSFER = N_("%(reason)s (transfer %(reference)s)")
SENDING = N_("sending refunds")
REFUND_FAILED = N_("refund of payment %(payment)s failed: %(error)s")
PROVIDER_HOLDS = N_("the provider holds the refunds")
ALL_SUCCEEDED = N_("every refund succeeded")
JOB_REPORTED = N_("a qualifying job (outcome %(job)s) starting inside the window was reported")
JOB_REPORTED_AFTER_PAYMENT = N_(
    "a qualifying job (outcome %(job)s) starting inside the window was reported after the claim"
    " was %(state)s: the refund may not have been owed"
)
EMPLOYER_CORRECTED = N_("the employer corrected job %(job)s")
EMPLOYER_DENIED = N_("the employer denied job %(job)s")
JOB_DISPUTED = N_("job %(job)s disputed: %(why)s")
JOB_CORRECTED = N_("job %(job)s corrected: %(why)s")
GRADUATE_CORRECTED = N_("job %(job)s corrected by the graduate")
GRADUATE_WITHDREW = N_("job %(job)s withdrawn by the graduate")
EXCLUDED = N_("the graduate is out of the guarantee: excluded outcome %(outcome)s")
#: The review after the sweep: every reason (the rule's sentences, in English) in one text
#: (``app.guarantee.reasons.listed``).
OBLIGATIONS_NOT_MET = N_("search obligations not met: %(reasons)s")
#: The review's reason to reject a claim a declined offer voids.
VOID = reasons.VOID

#: Every note the system writes.
NOTES = (
    SWEPT, REOPENED, AMOUNT_CHANGED, AMOUNT_CHANGED_FROM_UNKNOWN, FIRST_APPROVAL,
    NOTHING_TO_REFUND, SETTLED_BY_TRANSFER,
    SENDING, REFUND_FAILED, PROVIDER_HOLDS, ALL_SUCCEEDED, JOB_REPORTED,
    JOB_REPORTED_AFTER_PAYMENT, EMPLOYER_CORRECTED, EMPLOYER_DENIED, JOB_DISPUTED, JOB_CORRECTED,
    GRADUATE_CORRECTED, GRADUATE_WITHDREW, EXCLUDED, OBLIGATIONS_NOT_MET, VOID,
)  # fmt: skip

#: How a value read back from a stored note becomes what it was written from, by its name:
#: the review's reasons and a declined offer are read as the sentences they were written from
#: when they can be told (else they stay the text stored).
_READ_BACK = {
    "day": lambda text: IsoDay.of(date.fromisoformat(text)),
    "state": ClaimState,
    "reasons": reasons.read_reasons,
    "offer": reasons.read_offer,
}

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
#: What a value looks like, by its name, where a note could be read two ways without it (an
#: amount ``4,000.00 EUR`` followed by an actor): ids are digits, an actor one word, a day ISO.
_VALUE_PATTERNS = {
    "day": r"\d{4}-\d{2}-\d{2}",
    "job": r"\d+",
    "payment": r"\d+",
    "actor": r"\S+",
    "state": "|".join(state.value for state in ClaimState),
}


def note(message: str, **values: object) -> Sentence:
    """The note ``message`` (one of ``NOTES``) writes with ``values``: its English is stored."""
    return Sentence(message, **values)


def recognised(text: str | None) -> Sentence | None:
    """The note ``text`` was written as (``note``), or ``None`` for text a person typed."""
    if not text:
        return None
    for message, pattern in _PATTERNS:
        match = pattern.fullmatch(text)
        if match is None:
            continue
        try:
            values = {
                name: _READ_BACK.get(name, str)(value) for name, value in match.groupdict().items()
            }
        except ValueError:
            continue
        sentence = Sentence(message, **values)
        if sentence == text:
            return sentence
    return None


def _pattern(message: str) -> re.Pattern:
    pieces = _PLACEHOLDER.split(message)  # text, name, text, name, ..., text
    return re.compile(
        "".join(
            re.escape(piece)
            if index % 2 == 0
            else f"(?P<{piece}>{_VALUE_PATTERNS.get(piece, '.+?')})"
            for index, piece in enumerate(pieces)
        ),
        re.S,
    )


_PATTERNS = [(message, _pattern(message)) for message in NOTES]

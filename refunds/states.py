"""The refund claim's state machine: every allowed move, in one table.

``transition`` in ``refunds.claims`` is the only code that changes a claim's state; it refuses
any move not listed here.
"""

from __future__ import annotations

from enum import StrEnum


class ClaimState(StrEnum):
    """Where a refund claim stands."""

    FLAGGED = "flagged"  # the sweep found the graduate owed; nobody has looked yet
    IN_REVIEW = "in_review"  # finance (or new evidence) put it under review
    AWAITING_SECOND_APPROVAL = "awaiting_second_approval"  # large claim, one approval so far
    APPROVED = "approved"  # refunds written, waiting for the executor
    REJECTED = "rejected"  # finance refused it, with a reason; can be appealed
    WITHDRAWN = "withdrawn"  # taken back, with a reason (a job turned up, a mistake)
    PAYING = "paying"  # the executor is sending refunds to the provider
    REFUNDED = "refunded"  # every refund succeeded at the provider
    FAILED = "failed"  # a refund failed; finance must act
    SETTLED_MANUALLY = "settled_manually"  # finance paid by bank transfer instead


S = ClaimState

#: from state -> the states it may move to.
TRANSITIONS: dict[ClaimState, frozenset[ClaimState]] = {
    S.FLAGGED: frozenset(
        {S.IN_REVIEW, S.AWAITING_SECOND_APPROVAL, S.APPROVED, S.REJECTED, S.WITHDRAWN}
    ),
    S.IN_REVIEW: frozenset({S.AWAITING_SECOND_APPROVAL, S.APPROVED, S.REJECTED, S.WITHDRAWN}),
    S.AWAITING_SECOND_APPROVAL: frozenset({S.APPROVED, S.REJECTED, S.WITHDRAWN, S.IN_REVIEW}),
    # An approved claim can still go back to review (a qualifying job reported late) until the
    # executor starts paying it.
    S.APPROVED: frozenset({S.PAYING, S.IN_REVIEW, S.WITHDRAWN}),
    S.REJECTED: frozenset({S.IN_REVIEW}),  # an appeal, or the facts changed
    # Withdrawn and rejected claims reopen into review when the facts make the graduate owed
    # again (an employer denied the job that was the reason).
    S.WITHDRAWN: frozenset({S.IN_REVIEW}),
    S.PAYING: frozenset({S.REFUNDED, S.FAILED}),
    # A card refund can fail after the provider first reported success: the claim reopens.
    S.REFUNDED: frozenset({S.FAILED}),
    S.FAILED: frozenset({S.PAYING, S.SETTLED_MANUALLY}),
    S.SETTLED_MANUALLY: frozenset(),
}

#: States in which a claim still needs someone or something to act.
OPEN_STATES = frozenset(TRANSITIONS) - {S.REFUNDED, S.WITHDRAWN, S.SETTLED_MANUALLY}


class ImpossibleTransition(Exception):
    """A move the state machine does not allow."""

    def __init__(self, current: ClaimState, target: ClaimState):
        super().__init__(f"a claim cannot go from {current.value} to {target.value}")
        self.current = current
        self.target = target


def check_transition(current: ClaimState, target: ClaimState) -> None:
    """Raise ``ImpossibleTransition`` unless ``current`` may move to ``target``."""
    if target not in TRANSITIONS[current]:
        raise ImpossibleTransition(current, target)


class RefundState(StrEnum):
    """Where one refund (one original payment's share of a claim) stands."""

    PENDING = "pending"  # written at approval; not yet sent
    SUBMITTING = "submitting"  # an executor is sending it (or crashed while sending it)
    PROCESSING = "processing"  # the provider accepted it and has not settled it yet
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the provider refused or failed it; finance settles it by hand
    CANCELED = "canceled"  # the claim left the approved state before it was sent
    SETTLED_MANUALLY = "settled_manually"  # paid by bank transfer; reference recorded


#: How far along each refund state is: provider news may only move a refund forward, except
#: that a refund reported succeeded can still fail later (card refunds do).
REFUND_PROGRESS = {
    RefundState.PENDING: 0,
    RefundState.SUBMITTING: 1,
    RefundState.PROCESSING: 2,
    RefundState.SUCCEEDED: 3,
    RefundState.FAILED: 4,
    RefundState.CANCELED: 4,
    RefundState.SETTLED_MANUALLY: 5,
}

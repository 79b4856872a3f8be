"""Where a claim awaiting a decision stands against its claim deadline."""

from __future__ import annotations

from datetime import date

import pytest

from app.guarantee.rules import ClaimDeadlineStanding, claim_deadline_standing

LAST_DAY = date(2026, 4, 29)


@pytest.mark.parametrize(
    ("today", "standing"),
    [
        (date(2026, 4, 14), ClaimDeadlineStanding.OPEN),  # 15 days left
        (date(2026, 4, 15), ClaimDeadlineStanding.DUE_SOON),  # 14 days left
        (date(2026, 4, 29), ClaimDeadlineStanding.DUE_SOON),  # the last day itself
        (date(2026, 4, 30), ClaimDeadlineStanding.PAST),
        (date(2027, 1, 1), ClaimDeadlineStanding.PAST),
    ],
)
def test_claim_deadline_standing(today, standing):
    assert claim_deadline_standing(LAST_DAY, today) is standing

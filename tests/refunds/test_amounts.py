"""The refund amount and its split over the original payments."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refunds.amounts import refundable_amount, split_refund


@pytest.mark.parametrize(
    ("payments", "scholarship", "cap", "deduct", "expected"),
    [
        ([600_000], 0, None, True, 600_000),
        ([200_000, 200_000, 200_000], 0, None, True, 600_000),
        ([600_000], 100_000, None, True, 500_000),
        ([600_000], 100_000, None, False, 600_000),
        ([600_000], 0, 450_000, True, 450_000),
        ([300_000], 0, 450_000, True, 300_000),  # the cap never raises the refund
        ([300_000], 400_000, None, True, 0),  # never negative
        ([100_000, 50_000], 25_000, 100_000, True, 100_000),
    ],
)
def test_refundable_amount(payments, scholarship, cap, deduct, expected):
    assert (
        refundable_amount(payments, scholarship=scholarship, cap=cap, deduct_scholarships=deduct)
        == expected
    )


def test_refundable_amount_with_no_payments_is_zero():
    assert refundable_amount([]) == 0


@pytest.mark.parametrize(
    ("total", "payments", "expected"),
    [
        (600_000, [600_000], [600_000]),
        (600_000, [200_000, 200_000, 200_000], [200_000, 200_000, 200_000]),
        (300_000, [400_000, 200_000], [200_000, 100_000]),
        (100, [1, 1, 1], [1, 1, 1]),
        (2, [1, 1, 1], [1, 1, 0]),  # ties go to the earlier payment
        (10, [3, 3, 3, 1], [3, 3, 3, 1]),
        (5, [3, 3, 3, 1], [2, 2, 1, 0]),
        (0, [500, 500], [0, 0]),
    ],
)
def test_split_refund(total, payments, expected):
    assert split_refund(min(total, sum(payments)), payments) == expected


def test_split_refund_refuses_more_than_was_paid():
    with pytest.raises(ValueError):
        split_refund(1_001, [500, 500])


@given(
    payments=st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=12),
    fraction=st.fractions(min_value=0, max_value=1),
)
def test_split_refund_adds_up_and_never_exceeds_a_payment(payments, fraction):
    total = int(sum(payments) * fraction)
    shares = split_refund(total, payments)
    assert sum(shares) == total
    assert all(0 <= share <= paid for share, paid in zip(shares, payments, strict=True))

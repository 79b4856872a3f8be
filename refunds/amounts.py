"""How much a graduate gets back, and how it is split over what they paid.

Pure functions over integer minor units of one currency.

The split rule: the refund is shared out in proportion to each original payment (largest
remainder method, ties going to the earlier payment), so every payer (the student, a sponsor)
gets back the same fraction of what they paid and no payment is ever refunded more than it
brought in. A full refund returns every payment whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from babel.numbers import get_currency_precision


def refundable_amount(
    payments: Sequence[int],
    *,
    scholarship: int = 0,
    cap: int | None = None,
    deduct_scholarships: bool = True,
) -> int:
    """Tuition actually paid, minus scholarships (if the policy deducts them), at most ``cap``.

    Never negative and never more than was paid.
    """
    if any(amount <= 0 for amount in payments):
        raise ValueError("payments are positive amounts")
    if scholarship < 0 or (cap is not None and cap < 0):
        raise ValueError("scholarship and cap are not negative")
    amount = sum(payments)
    if deduct_scholarships:
        amount -= scholarship
    if cap is not None:
        amount = min(amount, cap)
    return max(amount, 0)


def split_refund(total: int, payments: Sequence[int]) -> list[int]:
    """Share ``total`` over ``payments`` in proportion to each; the shares add up to ``total``.

    Each share is at most its payment. ``total`` may not exceed what was paid.
    """
    paid = sum(payments)
    if total < 0 or total > paid:
        raise ValueError(f"cannot refund {total} of {paid} paid")
    if any(amount <= 0 for amount in payments):
        raise ValueError("payments are positive amounts")
    if total == 0:
        return [0] * len(payments)
    shares = [total * amount // paid for amount in payments]
    remainders = [total * amount % paid for amount in payments]
    leftover = total - sum(shares)
    # A share with a remainder is below its exact value, which is at most the payment, so
    # adding one unit keeps it within the payment.
    by_remainder = sorted(range(len(payments)), key=lambda index: (-remainders[index], index))
    for index in by_remainder[:leftover]:
        shares[index] += 1
    return shares


def describe_money(amount_minor: int, currency: str) -> str:
    """``amount_minor`` written for a reason or a log line: ``4,000.00 EUR``."""
    digits = get_currency_precision(currency)
    major = Decimal(amount_minor).scaleb(-digits)
    return f"{major:,.{digits}f} {currency}"

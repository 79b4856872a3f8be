"""Fixtures for the scheduled jobs: owed graduates, committed databases, bounded waits."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date

from app.models import Graduation
from tests.factories import EnrollmentFactory, GraduationFactory, TuitionPaymentFactory
from tests.refunds.conftest import QUALIFIED_ON, approved_claim, gateway

# The refund tests' fixtures, shared as they are.
__all__ = ["approved_claim", "gateway", "make_owed_graduate", "wait_for"]


def make_owed_graduate(paid_minor: int = 300_000) -> Graduation:
    """A graduate whose window closed on 31 Jul 2025 without a job: owed ``paid_minor``."""
    graduation = GraduationFactory(
        qualified_on=QUALIFIED_ON, enrollment=EnrollmentFactory(signed_on=date(2024, 1, 10))
    )
    TuitionPaymentFactory(enrollment=graduation.enrollment, amount_minor=paid_minor)
    return graduation


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    give_up = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < give_up, f"gave up after {timeout} s waiting for {what}"
        time.sleep(0.02)

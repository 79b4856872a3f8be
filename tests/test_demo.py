"""The demo school shows a graduate in every guarantee state, whatever today is."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from app.demo import load_demo_school
from app.guarantee.rules import GuaranteeState
from app.models import Graduation, Programme
from app.services.guarantee import evaluate_guarantee


@pytest.mark.parametrize("today", [date(2026, 11, 22), date(2028, 2, 29), date(2027, 8, 31)])
def test_demo_school_has_a_graduate_in_every_state(session, today):
    load_demo_school(session, today)
    states = {
        evaluate_guarantee(session, graduation_id, today).status.state
        for graduation_id in session.scalars(select(Graduation.id))
    }
    assert states == set(GuaranteeState)


def test_demo_load_command_loads_once(runner, session):
    first = runner.invoke(args=["demo", "load"])
    second = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    assert "demo school loaded" in first.output
    assert "was not loaded" in second.output
    assert session.scalar(select(func.count()).select_from(Programme)) == 2

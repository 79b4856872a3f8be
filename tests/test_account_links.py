"""The emailed account links as a lifecycle: issued, replaced, used, expired, in any order.

A model keeps what each link should do; after every step, each link the app opens must be
exactly those the model says are alive, and each refusal must give the model's reason.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from app.auth import links
from app.auth.links import LinkRefused, issue_link, live_link, spend
from app.models import LinkPurpose
from app.models.base import utc_now
from tests import factories

PURPOSES = tuple(LinkPurpose)
LIFETIME = timedelta(minutes=60)


def model_for(connection, session_factory, clock):
    class LinkModel(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.example = connection.begin_nested()
            self.session = session_factory()
            factories.use_session(self.session)
            self.user = factories.UserFactory()
            factories.use_session(None)
            clock["now"] = utc_now()
            #: token -> [purpose, expires_at, spent]
            self.issued: dict[str, list] = {}

        def teardown(self):
            self.session.close()
            if self.example.is_active:
                self.example.rollback()

        @rule(purpose=st.sampled_from(PURPOSES))
        def issue(self, purpose):
            token = issue_link(self.session, self.user, purpose, LIFETIME, actor="test")
            for state in self.issued.values():
                if state[0] is purpose:
                    state[2] = True  # the newer link replaces the older
            self.issued[token] = [purpose, clock["now"] + LIFETIME, False]

        @precondition(lambda self: self.issued)
        @rule(data=st.data())
        def use(self, data):
            token = data.draw(st.sampled_from(sorted(self.issued)))
            purpose, expires_at, spent = self.issued[token]
            try:
                link = live_link(self.session, token, frozenset({purpose}))
            except LinkRefused:
                assert spent or clock["now"] >= expires_at
                return
            spend(link)
            self.issued[token][2] = True

        @rule(minutes=st.integers(1, 90))
        def wait(self, minutes):
            clock["now"] += timedelta(minutes=minutes)

        @invariant()
        def each_link_opens_exactly_while_the_model_says(self):
            for token, (purpose, expires_at, spent) in self.issued.items():
                expected = "used" if spent else "expired" if clock["now"] >= expires_at else None
                try:
                    live_link(self.session, token, frozenset({purpose}))
                    reason = None
                except LinkRefused as refusal:
                    reason = refusal.reason
                assert reason == expected, (token[:6], purpose, reason, expected)

        @invariant()
        def a_link_opens_only_for_its_own_purpose(self):
            for token, (purpose, _expires, _spent) in self.issued.items():
                others = frozenset(PURPOSES) - {purpose}
                with pytest.raises(LinkRefused, match="unknown"):
                    live_link(self.session, token, others)

    return LinkModel


def test_account_links_live_exactly_until_used_replaced_or_expired(
    connection, session_factory, monkeypatch
):
    clock = {"now": utc_now()}
    monkeypatch.setattr(links, "utc_now", lambda: clock["now"])
    run_state_machine_as_test(
        model_for(connection, session_factory, clock),
        settings=settings(
            max_examples=25,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )

"""Coded values (states, contract types, roles ...) are read as words of the reader's language."""

from __future__ import annotations

from flask_babel import force_locale

from app.labels import LABELS, label
from app.pages.formatting import words
from refunds.states import ClaimState, RefundState


def test_every_value_of_a_labelled_kind_has_its_label():
    kinds = {kind for kind, _value in LABELS}
    unlabelled = [value for kind in kinds for value in kind if (kind, value) not in LABELS]
    assert unlabelled == []


def test_a_french_reader_reads_each_state_in_french_told_apart_by_what_it_is_of(app):
    with app.test_request_context(), force_locale("fr_FR"):
        assert words(ClaimState.REJECTED) == "refusée"
        assert label(ClaimState.FAILED) == "en échec"
        assert label(RefundState.FAILED) == "échoué"
        assert label("awaiting_second_approval") == "en attente d’une seconde approbation"
    with app.test_request_context(), force_locale("en_GB"):
        assert words(ClaimState.AWAITING_SECOND_APPROVAL) == "awaiting second approval"
        assert label(RefundState.FAILED) == "failed"


def test_a_value_without_a_label_is_its_code_in_words(app):
    with app.test_request_context():
        assert label("not_a_state") == "not a state"
        assert label(None) == "—"

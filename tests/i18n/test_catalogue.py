"""The catalogues are complete: every message of the code has its French, and no template holds
words outside a message (words nobody could translate)."""

from __future__ import annotations

import io

import pytest
from babel.messages.mofile import read_mo

from app import catalogue

#: Templates written before the pages were translated, still holding English outside messages.
#: A template leaves this list when it is translated, and the test below keeps it translated.
NOT_YET_TRANSLATED = frozenset(
    {
        "_documents.html",
        "_evidence.html",
        "_unsaved.html",
        "account/settings.html",
        "account/token_created.html",
        "account/tokens.html",
        "admin/account.html",
        "admin/accounts.html",
        "admin/audit.html",
        "admin/personal_data.html",
        "admin/tokens.html",
        "auth/confirm_email.html",
        "auth/enrol.html",
        "auth/forgot_password.html",
        "auth/link_refused.html",
        "auth/recovery_codes.html",
        "auth/set_password.html",
        "auth/sign_in.html",
        "auth/sign_in_code.html",
        "base.html",
        "documents/refused.html",
        "email/_layout.html",
        "email/_macros.html",
        "email/_shares.html",
        "email/account_invitation.html",
        "email/appeal_decided.html",
        "email/appeal_received.html",
        "email/claim_approved.html",
        "email/claim_opened.html",
        "email/claim_refunded.html",
        "email/claim_rejected.html",
        "email/claim_settled_manually.html",
        "email/deadline_approaching.html",
        "email/email_change.html",
        "email/employer_reminder.html",
        "email/falling_behind.html",
        "email/hire_confirmation.html",
        "email/new_claims.html",
        "email/password_reset.html",
        "employer/_answer_form.html",
        "employer/confirm.html",
        "employer/home.html",
        "employer/link_problem.html",
        "employer/thanks.html",
        "errors/403.html",
        "errors/404.html",
        "errors/error.html",
        "graduate/_pauses.html",
        "graduate/_search.html",
        "graduate/correct_job.html",
        "graduate/home.html",
        "graduate/job_not_changed.html",
        "graduate/log_activity.html",
        "graduate/messages.html",
        "graduate/pause.html",
        "graduate/pause_not_canceled.html",
        "graduate/report_job.html",
        "graduate/search_refused.html",
        "public/bad_request.html",
        "public/outcomes.html",
        "registrar/_macros.html",
        "registrar/_pauses.html",
        "registrar/enrollment.html",
        "registrar/enrollments.html",
        "registrar/graduations.html",
        "registrar/home.html",
        "registrar/import.html",
        "registrar/programme.html",
        "registrar/programmes.html",
    }
)


def test_every_message_of_the_code_has_a_french_translation():
    assert catalogue.missing("fr") == {}


def test_no_message_is_translated_two_ways():
    assert catalogue.conflicting("fr") == []


def test_no_template_holds_words_outside_a_message_but_those_not_yet_translated():
    templates = catalogue.ROOT / "templates"
    with_words = {
        str(path.relative_to(templates))
        for path in templates.rglob("*.html")
        if any(True for _ in catalogue.untranslated_text(path))
    }
    assert sorted(with_words - NOT_YET_TRANSLATED) == [], "translate these templates' words"
    assert sorted(NOT_YET_TRANSLATED - with_words) == [], "translated: take them off the list"


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("<p>Hello</p>", [(1, "Hello")]),
        ('<p>{{ _("Hello") }}</p>', []),
        ("<p>{% trans %}Hello {{ name }}{% endtrans %}</p>", []),
        ('<a href="{{ url }}" class="button">{{ label }}</a>', []),
        ('<img alt="The chart" src="{{ src }}">', [(1, "The")]),
        ('<input placeholder="{{ _("Name") }}">', []),
        ("<p>&nbsp;&mdash; {{ a }} · {{ b }} (3)</p>", []),
        ("{% if x %}\n  <td>{{ x }}</td>\n{% else %}\n  <td>none</td>\n{% endif %}", [(4, "none")]),
        ("<!-- a comment --><script>let words = 1;</script>", []),
    ],
)
def test_the_check_finds_words_outside_messages_and_nothing_else(tmp_path, template, words):
    path = tmp_path / "page.html"
    path.write_text(template, encoding="utf-8")
    assert list(catalogue.untranslated_text(path)) == words


def test_the_compiled_catalogue_is_the_sources_merged():
    """What Flask-Babel reads (compiled by make install) is every translation of the .po files."""
    compiled = catalogue.TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.mo"
    with compiled.open("rb") as file:
        read = read_mo(io.BytesIO(file.read()))
    expected = catalogue.merged("fr")
    assert _entries(read) == _entries(expected)


def _entries(catalog) -> dict:
    """``(context, id) -> translation`` of a catalogue, a plural's forms as tuples."""

    def frozen(value):
        return tuple(value) if isinstance(value, list | tuple) else value

    return {(m.context, frozen(m.id)): frozen(m.string) for m in catalog if m.id}

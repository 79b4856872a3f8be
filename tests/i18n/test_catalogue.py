"""The catalogues are complete: every message of the code has its French, and no template holds
words outside a message (words nobody could translate)."""

from __future__ import annotations

import io

import pytest
from babel.messages.mofile import read_mo

from app import catalogue


def test_every_message_of_the_code_has_a_french_translation():
    assert catalogue.missing("fr") == {}


def test_no_message_is_translated_two_ways():
    assert catalogue.conflicting("fr") == []


def test_every_catalogue_of_a_language_counts_plurals_the_same_way():
    """One rule for the merged catalogue: a file written for another would show English."""
    rules = catalogue.plural_rules("fr")
    assert list(rules) == ["nplurals=2; plural=(n > 1);"], rules


def test_no_template_holds_words_outside_a_message():
    templates = catalogue.ROOT / "templates"
    with_words = {
        str(path.relative_to(templates))
        for path in catalogue.checked_templates()
        if any(True for _ in catalogue.untranslated_text(path))
    }
    assert sorted(with_words) == [], "translate these templates' words"


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
    assert _messages(read) == _messages(expected)


def _messages(catalog) -> dict:
    """Each message's translation by its context and text (a plural's forms as one tuple)."""

    def whole(value):
        return tuple(value) if isinstance(value, list | tuple) else value

    return {(m.context, whole(m.id)): whole(m.string) for m in catalog if m.id}


def test_the_check_reads_the_text_part_of_every_email_too(tmp_path):
    """A plain-text email (it also sets the subject) is checked like a page."""
    path = tmp_path / "notice.txt"
    path.write_text(
        '{% set subject = _("Hello") %}\n{% trans %}Dear {{ name }}{% endtrans %}\nSee you soon\n',
        encoding="utf-8",
    )
    assert list(catalogue.untranslated_text(path)) == [(3, "See")]
    checked = catalogue.checked_templates()
    emails = sorted((catalogue.ROOT / "templates" / "email").glob("*.txt"))
    assert emails and set(emails) <= set(checked)


def test_every_refusal_a_person_reads_is_a_message():
    """What a service refuses with reaches a page: its words are translated, its days written as
    the reader writes them (the API's own refusals are English by contract, and left out)."""
    found = [
        f"{path.relative_to(catalogue.ROOT.parent)}:{line}: {text}"
        for path, line, text in catalogue.unmarked_refusals()
    ]
    assert found == []


@pytest.mark.parametrize(
    ("source", "lines"),
    [
        ('raise Conflict("this was answered already")', [1]),
        ('raise Conflict(_("this was answered already"), "state")', []),
        ('raise Conflict(f"payment {payment.id} was refunded")', [1]),
        ("raise Conflict(message)", []),
        ('raise Invalid.field("reason", "give a reason")', [1]),
        ('raise Invalid.field("reason", gettext("give a reason"))', []),
        ('raise Invalid({"a": ["say why"], "b": [_("say why")]})', [1]),
        ('errors["question"] = ["write the question"]', [1]),
        ('errors["question"] = [_("write the question")]', []),
        ('errors.setdefault("day", []).append("cannot be in the future")', [1]),
        ('raise Conflict(_("closed on %(day)s", day=deadline.isoformat()))', [1]),
        ('raise Conflict(_("closed on %(day)s", day=said_day(deadline)))', []),
        ('raise Conflict(_("it is %(state)s") + ".")', []),
        ('log.append("not a refusal")', []),
    ],
)
def test_the_refusal_check_finds_plain_text_and_iso_days(source, lines):
    assert [line for line, _text in catalogue.refusals_outside_messages(source)] == lines

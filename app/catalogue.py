"""The translation catalogues: every message of the pages, forms and emails, in each language.

The messages to translate are found in the code (``gettext``/``_``/``ngettext``/``lazy_gettext``
in Python, ``_()`` and ``{% trans %}`` in templates). Each language keeps its translations in
several ``.po`` files under ``app/translations/<language>/LC_MESSAGES/`` (one per part of the
service, so that people translating different parts do not edit the same file); ``compile``
merges them into the one ``messages.mo`` Flask-Babel reads, and ``make install`` runs it.

``python -m app.catalogue check`` (and a test) fails when a message of the code has no
translation, or when a template holds words outside any message (text nobody can translate).

    python -m app.catalogue compile      # build messages.mo for every language
    python -m app.catalogue check        # list what is missing; exit 1 if anything is
    python -m app.catalogue missing fr   # the missing messages as a .po file to fill in
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from jinja2 import Environment
from jinja2.lexer import TOKEN_DATA

ROOT = Path(__file__).resolve().parent
TRANSLATIONS = ROOT / "translations"
#: The languages the service is translated into (English is the code's own).
LANGUAGES = ("fr",)

#: The code people read messages of: the application, and the refund code (its refusals).
CODE = (ROOT, ROOT.parent / "refunds")

KEYWORDS = {
    **DEFAULT_KEYWORDS,
    "lazy_gettext": None,
    "_l": None,
    "lazy_ngettext": (1, 2),
    "lazy_pgettext": ((1, "c"), 2),
}
METHODS = [
    ("**/templates/**.html", "jinja2.ext:babel_extract"),
    ("**/templates/**.txt", "jinja2.ext:babel_extract"),
    ("**.py", "python"),
]
TEMPLATE_OPTIONS = {"extensions": "jinja2.ext.i18n", "trimmed": "true"}


#: A message: its text, and the context that tells apart two meanings of the same words (a
#: claim's "failed" and a refund's), ``None`` for most.
Key = tuple[str | None, str]


def code_messages() -> dict[Key, list[str]]:
    """Every message of the code, each with the places it is used (``file:line``)."""
    found: dict[Key, list[str]] = {}
    options = {pattern: TEMPLATE_OPTIONS for pattern, method in METHODS if "jinja2" in method}
    for root in CODE:
        for filename, line, message, _comments, context in extract_from_dir(
            root, METHODS, options, KEYWORDS, strip_comment_tags=True
        ):
            msgid = message[0] if isinstance(message, tuple) else message
            if msgid:
                where = f"{(root / filename).relative_to(ROOT.parent)}:{line}"
                found.setdefault((context, msgid), []).append(where)
    return found


def source_files(language: str) -> list[Path]:
    return sorted((TRANSLATIONS / language / "LC_MESSAGES").glob("*.po"))


def merged(language: str) -> Catalog:
    """The language's translations from all its ``.po`` files, as one catalogue."""
    catalog = Catalog(locale=language, domain="messages")
    # The plural rule the translations were written for (French: one form for 0 and 1, one for
    # the rest), not whatever the installed Babel's data says (it may count three); every
    # file of a language declares the same one (``plural_rules``).
    rules = plural_rules(language)
    if len(rules) == 1:
        catalog.mime_headers = [("Plural-Forms", next(iter(rules)))]
    for path in source_files(language):
        with path.open("rb") as file:
            source = read_po(file, locale=language)
            for message in source:
                usable = message.id and message.string and not message.fuzzy
                if usable and catalog.get(message.id, context=message.context) is None:
                    catalog.add(
                        message.id, message.string, flags=message.flags, context=message.context
                    )
    return catalog


def plural_rules(language: str) -> dict[str, list[str]]:
    """Each plural rule the language's ``.po`` files declare, with the files declaring it: one
    rule, or the forms of some files are read by another's rule (and show English)."""
    rules: dict[str, list[str]] = {}
    for path in source_files(language):
        with path.open("rb") as file:
            source = read_po(file, locale=language)
        declared = dict(source.mime_headers).get("Plural-Forms")
        if declared:
            rules.setdefault(source.plural_forms, []).append(path.name)
    return rules


def compile_all() -> None:
    """Write ``messages.mo`` of each language from its ``.po`` files."""
    for language in LANGUAGES:
        target = TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo"
        with target.open("wb") as file:
            write_mo(file, merged(language))


def missing(language: str) -> dict[Key, list[str]]:
    """The messages of the code with no translation into ``language``, with where they are."""
    catalog = merged(language)
    return {
        key: places
        for key, places in code_messages().items()
        if not _translated(catalog.get(key[1], context=key[0]))
    }


def conflicting(language: str) -> list[str]:
    """Messages translated differently in two of the language's ``.po`` files."""
    seen: dict[object, object] = {}
    clashes = []
    for path in source_files(language):
        with path.open("rb") as file:
            for message in read_po(file, locale=language):
                if not message.id or not message.string:
                    continue
                key = (message.context, message.id)
                if key in seen and seen[key] != message.string:
                    clashes.append(f"{path.name}: {message.id!r}")
                seen.setdefault(key, message.string)
    return clashes


#: Markup that holds no words to translate: comments and tags (their names and attributes).
_MARKUP = re.compile(r"<!--.*?-->|<script.*?</script>|<style.*?</style>|<[^>]*>", re.S)
#: Attributes people read, whose values must be translated like text.
_READ_ATTRIBUTE = re.compile(r'(?:alt|title|placeholder|aria-label)="([^"]*)"')
#: A word: letters, not entities (``&nbsp;``) nor what a template writes (``\0``).
_WORD = re.compile(r"(?<![&\w])[^\W\d_]{2,}(?!;)")
_EXPRESSION = "\0"


def untranslated_text(path: Path) -> Iterator[tuple[int, str]]:
    """``(line, text)`` of each run of words in a template outside any translated message.

    What the template writes (``{{ ... }}``) and the markup are not words; what ``_()`` and
    ``{% trans %}`` hold is translated; anything else with letters is text nobody can translate.
    """
    source = path.read_text(encoding="utf-8")
    environment = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)  # lexed only
    tokens = [token for token in environment.lex(source) if token[1] != "whitespace"]
    flat: list[str] = []
    lines: list[int] = []
    inside_trans = False
    for index, (line, kind, value) in enumerate(tokens):
        previous = tokens[index - 1][1] if index else None
        if kind == "name" and previous == "block_begin" and value in ("trans", "endtrans"):
            inside_trans = value == "trans"
        piece = value if kind == TOKEN_DATA and not inside_trans else _EXPRESSION
        if kind in (TOKEN_DATA, "variable_begin", "block_begin"):
            flat.append(piece)
            lines.extend(line + piece[:offset].count("\n") for offset in range(len(piece)))
    text = "".join(flat)
    readable = [(match.start(1), match.group(1)) for match in _READ_ATTRIBUTE.finditer(text)]
    prose = _MARKUP.sub(lambda match: " " * len(match.group(0)), text)
    found = [(match.start(), match.group(0)) for match in _WORD.finditer(prose)]
    for start, value in readable:
        found.extend((start + match.start(), match.group(0)) for match in _WORD.finditer(value))
    reported: set[int] = set()
    for start, word in sorted(found):
        line = lines[start] if start < len(lines) else lines[-1]
        if line not in reported:
            reported.add(line)
            yield line, word


def checked_templates() -> list[Path]:
    """The templates people read: every page (``.html``) and the text part of every email
    (``email/*.txt``, which also sets its subject)."""
    templates = ROOT / "templates"
    return sorted([*templates.rglob("*.html"), *(templates / "email").glob("*.txt")])


#: The API answers in English whoever calls it (``app.i18n.API_LOCALE``): its own refusals are
#: not messages.
API = ROOT / "api"
#: The functions that mark a message for translation.
_MARKERS = frozenset(KEYWORDS)


def unmarked_refusals() -> Iterator[tuple[Path, int, str]]:
    """``(file, line, text)`` of each refusal of the code written outside a message
    (``refusals_outside_messages``); the API's own are left out."""
    for path in sorted(file for root in CODE for file in root.rglob("*.py")):
        if API not in path.parents:
            for line, text in refusals_outside_messages(path.read_text(encoding="utf-8")):
                yield path, line, text


def refusals_outside_messages(source: str) -> Iterator[tuple[int, str]]:
    """``(line, text)`` of each refusal in Python ``source`` written as plain text rather than
    a message, or with a day written ``2026-07-01``.

    A refusal is what ``Conflict(...)``, ``Invalid.field(...)`` and ``Invalid({...})`` carry, or
    what a function writes into its ``errors`` (``errors[field] = [...]``,
    ``errors.setdefault(field, []).append(...)``): a person reads it on a page, so its words
    must be a message (``_("...")``), not a string of their own, and a day in it is written by
    ``app.i18n.said_day`` (as the reader writes days), never by ``isoformat()``.
    """
    for node in ast.walk(ast.parse(source)):
        for text in _refusal_texts(node):
            if _has_words(text) or _iso_day_inside(text):
                yield text.lineno, ast.unparse(text)[:80]


def _refusal_texts(node: ast.AST) -> Iterator[ast.expr]:
    if isinstance(node, ast.Call):
        called = ast.unparse(node.func)
        if called == "Conflict" and node.args:
            yield node.args[0]
        elif called == "Invalid.field" and len(node.args) > 1:
            yield node.args[1]
        elif called == "Invalid" and node.args and isinstance(node.args[0], ast.Dict):
            for value in node.args[0].values:
                yield from value.elts if isinstance(value, ast.List) else (value,)
        elif called.startswith("errors.setdefault(") and called.endswith(".append") and node.args:
            yield node.args[0]
    elif isinstance(node, ast.Assign) and isinstance(node.value, ast.List):
        target = node.targets[0]
        if isinstance(target, ast.Subscript) and ast.unparse(target.value) == "errors":
            yield from node.value.elts


def _has_words(text: ast.expr) -> bool:
    """Whether ``text`` holds words of its own outside a message: a string, an f-string or a
    sum with letters in it (a message's call, or a value passed along, holds none)."""
    if isinstance(text, ast.Constant):
        return isinstance(text.value, str) and _WORD.search(text.value) is not None
    if isinstance(text, ast.JoinedStr):
        return any(_has_words(part) for part in text.values)
    if isinstance(text, ast.BinOp):
        return _has_words(text.left) or _has_words(text.right)
    return False


def _iso_day_inside(text: ast.expr) -> bool:
    """Whether a message's values write a day as ``2026-07-01`` (``.isoformat()``)."""
    if not (isinstance(text, ast.Call) and ast.unparse(text.func) in _MARKERS):
        return False
    return any(
        isinstance(value, ast.Call) and ast.unparse(value.func).endswith(".isoformat")
        for value in ast.walk(text)
    )


def _translated(message) -> bool:
    if message is None:
        return False
    string = message.string
    if isinstance(string, tuple | list):
        return all(string)
    return bool(string)


def _print_missing_po(language: str) -> None:
    catalog = Catalog(locale=language)
    for (context, msgid), places in sorted(missing(language).items(), key=_by_text):
        locations = [(file, int(line)) for file, line in (p.rsplit(":", 1) for p in places)]
        catalog.add(msgid, locations=locations, context=context)
    write_po(sys.stdout.buffer, catalog, omit_header=True, sort_output=True)


def _by_text(item) -> tuple[str, str]:
    (context, msgid), _places = item
    return msgid, context or ""


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "compile":
        compile_all()
        return 0
    if command == "missing":
        _print_missing_po(argv[1] if len(argv) > 1 else LANGUAGES[0])
        return 0
    problems = 0
    for language in LANGUAGES:
        for (_context, msgid), places in sorted(missing(language).items(), key=_by_text):
            print(f"{language}: no translation of {msgid!r} ({places[0]})")
            problems += 1
        for clash in conflicting(language):
            print(f"{language}: translated two ways: {clash}")
            problems += 1
        rules = plural_rules(language)
        if len(rules) > 1:
            print(f"{language}: more than one plural rule: {rules}")
            problems += 1
    for path in checked_templates():
        for line, text in untranslated_text(path):
            print(f"{path.relative_to(ROOT)}:{line}: words outside a message: {text}")
            problems += 1
    for path, line, text in unmarked_refusals():
        print(f"{path.relative_to(ROOT.parent)}:{line}: a refusal outside a message: {text}")
        problems += 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Every page of every role, read in French, holds no English: each role (and nobody signed in,
and an employer's emailed link) follows every link from its home on the demo school with a
browser asking for French, and each page it reaches is read for words only English has."""

from __future__ import annotations

import pytest
from sqlalchemy import String, Text, select

from app.models.base import Base
from tests.crawl import crawl
from tests.i18n.english import data_with_english, english_left, has_english
from tests.pages.test_crawl import clients, demo_school  # noqa: F401 - fixtures

FRENCH = "fr-FR,fr;q=0.9"


@pytest.fixture
def typed_values(session, demo_school):  # noqa: F811 - the fixture imported above
    """Every text the demo school holds (names, titles, notes people typed ...): data."""
    values: set[str] = set()
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text)]
        if not columns:
            continue
        for row in session.execute(select(*columns)):
            values.update(str(value) for value in row if value)
    return data_with_english(values)


def test_the_detector_finds_english_and_leaves_french_and_data_alone():
    page = (
        '<main><h1>Vos demandes</h1><p title="Save your claim">Enregistrez</p>'
        "<td>Chloé Martin</td><td>Notes: the employer called</td><button>Save</button></main>"
    )
    assert english_left(page, data=["Notes: the employer called"]) == [
        "Save your claim",
        "Save",
    ]
    assert not has_english("Demande de remboursement approuvée le 3 mars 2026")


def test_every_page_reached_in_french_holds_no_english(app, clients, typed_values):  # noqa: F811
    left: dict[str, list[str]] = {}
    for who, (client, start) in clients.items():
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = FRENCH
        visits = crawl(client, start)
        assert len(visits) > 1, f"{who} reached no page from {start}"
        for visit in visits:
            if visit.content_type != "text/html" or visit.status in (301, 302, 303):
                continue
            body = client.get(visit.url).get_data(as_text=True)
            assert '<html lang="fr">' in body, f"{who}: {visit.url} is not in French"
            english = english_left(body, typed_values)
            if english:
                left[f"{who} {visit.url[:120]}"] = english[:8]

    report = "\n".join(f"{page}: {pieces}" for page, pieces in sorted(left.items()))
    assert not left, f"English on French pages:\n{report}"

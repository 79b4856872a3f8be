"""Every CSV download opens in a spreadsheet with its accents intact."""

from __future__ import annotations

from flask_babel import force_locale

from app.models import Role
from app.pages.formatting import csv_download
from tests.factories import UserFactory
from tests.signing_in import sign_in_client


def test_a_download_is_utf8_with_a_byte_order_mark_and_spreadsheet_safe(app):
    with app.test_request_context():
        response = csv_download([["name", "title"], ["Chloé Dupré", "=HYPERLINK()"]], "x.csv")

    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 only after this mark
    assert body.decode("utf-8-sig") == "name,title\r\nChloé Dupré,'=HYPERLINK()\r\n"
    assert response.content_type == "text/csv; charset=utf-8"


def test_the_header_is_the_column_names_in_english_and_their_titles_in_french(app):
    columns = ["claim_id", "amount_minor", "status_1A", "not_a_column"]
    with app.test_request_context(), force_locale("fr_FR"):
        french = csv_download([[1, 650000, 0, "x"]], "x.csv", columns=columns)
    with app.test_request_context(), force_locale("en_US"):
        english = csv_download([[1, 650000, 0, "x"]], "x.csv", columns=columns)

    assert french.get_data().decode("utf-8-sig").splitlines() == [
        "Numéro de la demande,Montant (en centimes),Statut 1A,not_a_column",
        "1,650000,0,x",
    ]
    assert english.get_data().decode("utf-8-sig").splitlines()[0] == ",".join(columns)


def test_every_column_of_the_downloads_has_a_title():
    """Each download's columns are in the titles table: none reaches a French reader as a
    column name."""
    from app.pages.csv_columns import TITLES
    from app.pages.finance import _FORECAST_COLUMNS, QUEUE_COLUMNS
    from app.pages.liability import CSV_COLUMNS
    from app.pages.reports import FIGURE_COLUMNS, ROW_COLUMNS

    columns = {*QUEUE_COLUMNS, *_FORECAST_COLUMNS, *CSV_COLUMNS, *FIGURE_COLUMNS, *ROW_COLUMNS}
    untitled = sorted(c for c in columns if c not in TITLES and not c.startswith("status_"))
    assert untitled == []


def test_a_french_registrar_downloads_the_outcomes_with_french_headers(client, session):
    sign_in_client(client, UserFactory(role=Role.REGISTRAR, locale="fr_FR"))
    response = client.get("/reports/outcomes.csv")
    assert response.status_code == 200
    header = response.get_data().decode("utf-8-sig").splitlines()[0]
    assert header.startswith("Période,Numéro de la formation,Formation,Devise,Provisoire")

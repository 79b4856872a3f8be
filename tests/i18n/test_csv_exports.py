"""Every CSV download opens in a spreadsheet with its accents intact."""

from __future__ import annotations

from app.pages.formatting import csv_download


def test_a_download_is_utf8_with_a_byte_order_mark_and_spreadsheet_safe(app):
    with app.test_request_context():
        response = csv_download([["name", "title"], ["Chloé Dupré", "=HYPERLINK()"]], "x.csv")

    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 only after this mark
    assert body.decode("utf-8-sig") == "name,title\r\nChloé Dupré,'=HYPERLINK()\r\n"
    assert response.content_type == "text/csv; charset=utf-8"

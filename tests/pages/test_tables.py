"""Wide tables are labelled for a phone on the server: each cell carries its column's header."""

from __future__ import annotations

from app.models import Role
from app.pages.tables import stack_wide_tables
from tests.factories import EnrollmentFactory, UserFactory

WIDE_TABLE = """<table class="plain"><thead><tr><th scope="col">No.</th><th>Student</th>
<th colspan="2">Paid &amp; when</th></tr></thead><tbody><tr><td><a href="/e/1">1</a></td>
<th scope="row">Ada</th><td class="money">€1</td><td data-label="Day">1 May</td></tr>
</tbody></table>"""


def test_each_cell_of_a_wide_table_is_labelled_with_its_column_and_the_table_stacks():
    page = stack_wide_tables(WIDE_TABLE)

    assert '<table class="plain stacks">' in page
    assert '<td data-label="No."><a href="/e/1">1</a></td>' in page
    assert '<td class="money" data-label="Paid &amp; when">' in page


def test_a_row_header_and_a_cell_labelled_by_its_template_keep_what_they_have():
    page = stack_wide_tables(WIDE_TABLE)

    assert '<th scope="row">Ada</th>' in page
    assert '<td data-label="Day">1 May</td>' in page


def test_a_narrow_table_keeps_its_columns():
    narrow = (
        "<table><thead><tr><th>Month</th><th>Amount</th></tr></thead><tr><td>May</td></tr></table>"
    )

    assert stack_wide_tables(narrow) == narrow


def test_the_enrollments_page_leaves_with_its_table_labelled(client, sign_in):
    EnrollmentFactory()
    sign_in(UserFactory(role=Role.REGISTRAR))

    page = client.get("/registrar/enrollments").get_data(as_text=True)

    assert 'class="stacks"' in page
    assert 'data-label="Student"' in page and "<script" not in page

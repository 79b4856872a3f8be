"""No input gives a 500: page numbers, ids and dates past what the records hold are a page
(the last one), a 404 or a 400 saying why."""

from __future__ import annotations

import pytest

from app.models import Role
from tests.factories import EnrollmentFactory, UserFactory

HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    "role, path",
    [
        (Role.REGISTRAR, "/registrar/enrollments"),
        (Role.REGISTRAR, "/registrar/graduations"),
        (Role.ADMIN, "/admin/accounts"),
        (Role.ADMIN, "/admin/audit"),
        (Role.FINANCE, "/finance"),
    ],
)
def test_a_page_number_past_any_list_shows_its_last_page(client, sign_in, role, path):
    EnrollmentFactory()
    sign_in(UserFactory(role=role))

    response = client.get(f"{path}?page={HUGE}")

    assert response.status_code == 200


@pytest.mark.parametrize(
    "path",
    [f"/admin/accounts/{2**63}", f"/admin/accounts/{HUGE}", "/admin/accounts/0"],
)
def test_an_id_no_key_can_hold_is_a_404_page(client, sign_in, path):
    sign_in(UserFactory(role=Role.ADMIN))

    response = client.get(path)

    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_a_programme_filter_past_any_id_is_refused_and_said_so(client, sign_in):
    EnrollmentFactory()
    sign_in(UserFactory(role=Role.REGISTRAR))

    response = client.get(f"/registrar/enrollments?programme={HUGE}")

    assert response.status_code == 400  # the list is shown unfiltered, the filter refused
    assert "it was ignored" in response.get_data(as_text=True)


def test_a_report_drill_down_of_a_programme_past_any_id_is_a_404(client, sign_in):
    sign_in(UserFactory(role=Role.FINANCE))

    response = client.get(f"/reports/outcomes/graduates?programme={2**63}")

    assert response.status_code == 404


def test_a_personal_data_search_by_an_id_past_any_key_finds_nobody(client, sign_in):
    sign_in(UserFactory(role=Role.ADMIN))

    response = client.get(f"/admin/personal-data?q={HUGE}")

    assert response.status_code == 200


@pytest.mark.parametrize("as_of", ["9999-12-31", "0001-01-01"])
def test_a_forecast_at_the_ends_of_the_calendar_is_a_400_naming_the_range(client, sign_in, as_of):
    sign_in(UserFactory(role=Role.FINANCE))

    page = client.get(f"/finance/forecast?as_of={as_of}")
    csv = client.get(f"/finance/forecast.csv?as_of={as_of}")

    assert page.status_code == 400
    assert "from 1900-01-01 to 2999-12-31" in page.get_data(as_text=True)
    assert csv.status_code == 400

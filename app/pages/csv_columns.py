"""The columns of the CSV files people download, titled in their language.

An English reader's file keeps the column names (``claim_id``, ``amount_minor``): they are
English already, and what scripts reading the files rely on. A reader of another language gets
each column's title in their language (``Numéro de la demande``), so that the spreadsheet they
open reads in it; the cells are the same in both.
"""

from __future__ import annotations

from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l

from app.guarantee.cirr import CirrStatus

#: Each column name of the downloads, and its title for people.
TITLES = {
    # the claims queue
    "claim_id": _l("Claim number"),
    "graduate": _l("Graduate"),
    "email": _l("Email"),
    "programme": _l("Programme"),
    "state": _l("State"),
    "amount_minor": _l("Amount (minor units)"),
    "amount": _l("Amount"),
    "currency": _l("Currency"),
    "guarantee_deadline": _l("Guarantee deadline"),
    "claim_deadline": _l("Claim deadline"),
    "claim_deadline_state": _l("Claim deadline standing"),
    "flagged_on": _l("Flagged on"),
    # the forecast and the expected liability
    "month": _l("Month"),
    "graduates": _l("Graduates"),
    "kind": _l("Kind"),
    "worst_case_minor": _l("Worst case (minor units)"),
    "expected_minor": _l("Expected (minor units)"),
    "expected_lower_minor": _l("Expected, low end of the interval (minor units)"),
    "expected_upper_minor": _l("Expected, high end of the interval (minor units)"),
    "owed_minor": _l("Owed (minor units)"),
    "expected": _l("Expected"),
    # the outcomes report's figures
    "period": _l("Period"),
    "programme_id": _l("Programme number"),
    "provisional": _l("Provisional"),
    "enrolled": _l("Enrolled"),
    "graduated": _l("Graduated"),
    "graduation_rate_percent": _l("Graduation rate (%)"),
    "excluded": _l("Excluded"),
    "base": _l("Base"),
    "employed_in_field": _l("Employed in field"),
    "employed_in_field_rate_percent": _l("Employed in field (%)"),
    "full_time": _l("Full time"),
    "full_time_rate_percent": _l("Full time (%)"),
    "median_salary_minor": _l("Median salary (minor units)"),
    "median_salary": _l("Median salary"),
    "salaries_counted": _l("Salaries counted"),
    "salaries_left_out": _l("Salaries left out"),
    # the enrollments behind the report
    "enrollment_id": _l("Enrollment number"),
    "student": _l("Student"),
    "expected_graduation_on": _l("Expected graduation"),
    "qualified_on": _l("Qualified on"),
    "status_date": _l("Status date"),
    "status": _l("Status"),
    "status_label": _l("Status, in words"),
    "verification_source": _l("Verified by"),
    "excluded_because": _l("Excluded because"),
    "job_id": _l("Job number"),
    "job_title": _l("Job title"),
    "employer": _l("Employer"),
    "employment_type": _l("Contract"),
    "in_field": _l("In field"),
    "job_start_date": _l("First day"),
    "contract_months": _l("Contract months"),
    "annual_salary_minor": _l("Annual salary (minor units)"),
    "salary_currency": _l("Salary currency"),
    "in_salary_median": _l("In the median salary"),
}

_STATUS = "status_"


def title(column: str) -> str:
    """``column``'s title in the reader's language (its name for an English reader)."""
    locale = get_locale()
    if locale is None or locale.language == "en":
        return column
    if column.startswith(_STATUS) and column[len(_STATUS) :] in CirrStatus._value2member_map_:
        return gettext("Status %(code)s", code=column[len(_STATUS) :])
    found = TITLES.get(column)
    return str(found) if found is not None else column

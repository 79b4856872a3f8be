"""The expected refund liability: the figures finance's page shows, as JSON."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api import ApiBlueprint
from app.auth import requires
from app.auth.access import Permission
from app.database import db_session
from app.models.base import utc_now
from app.services.expected_liability import EARLIEST_DAY, LATEST_DAY, liability_report

blueprint = ApiBlueprint(
    "liability_api",
    __name__,
    url_prefix="/api/v1",
    description="Expected refund liability, its interval, the worst case and the backtest.",
)


class LiabilityQuery(Schema):
    as_of = fields.Date(
        validate=validate.Range(min=EARLIEST_DAY, max=LATEST_DAY),
        metadata={"description": "The day to forecast on; today (UTC) by default."},
    )


class MonthOut(Schema):
    month = fields.Function(lambda row: row.month.strftime("%Y-%m"))
    currency = fields.String()
    graduates = fields.Integer()
    worst_case_minor = fields.Integer()
    expected_minor = fields.Integer()
    expected_lower_minor = fields.Integer(attribute="lower_minor")
    expected_upper_minor = fields.Integer(attribute="upper_minor")


class BacktestOut(MonthOut):
    owed_minor = fields.Integer(attribute="actual_minor")


class OpenClaimsOut(Schema):
    state = fields.Function(lambda row: row.state.value)
    currency = fields.String()
    claims = fields.Integer()
    amount_minor = fields.Integer()


class CurveOut(Schema):
    programme_id = fields.Integer(allow_none=True)
    graduates = fields.Integer()
    placed = fields.Integer()
    median_days = fields.Integer(allow_none=True)
    days = fields.List(fields.Integer())
    still_searching = fields.List(fields.Float())
    lower = fields.List(fields.Float())
    upper = fields.List(fields.Float())


class LiabilityOut(Schema):
    as_of = fields.Date()
    months = fields.List(fields.Nested(MonthOut))
    backtest = fields.List(fields.Nested(BacktestOut))
    backtest_error = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))
    open_claims = fields.List(fields.Nested(OpenClaimsOut))
    curves = fields.List(fields.Nested(CurveOut))


@blueprint.get("/liability")
@requires(Permission.READ_CLAIMS)
@blueprint.arguments(LiabilityQuery, location="query", as_kwargs=True)
@blueprint.response(200, LiabilityOut)
def expected_liability(as_of=None):
    """Expected refunds per month and currency on ``as_of`` (today by default), with the 95%
    interval, the worst case, the backtest of the six months before, the open claims and each
    programme's placement curve."""
    as_of = as_of or utc_now().date()
    report = liability_report(db_session(), as_of)
    return {
        "as_of": as_of,
        "months": report.expected.rows,
        "backtest": report.backtest,
        "backtest_error": report.backtest_errors,
        "open_claims": report.open_claims,
        "curves": [
            {
                "programme_id": key[0],
                "graduates": curve.graduates,
                "placed": curve.placed,
                "median_days": curve.median_days(),
                "days": list(curve.days),
                "still_searching": list(curve.survival),
                "lower": list(curve.lower),
                "upper": list(curve.upper),
            }
            for key, curve in report.expected.curves.items()
            if key[1] is None
        ],
    }

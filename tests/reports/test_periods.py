"""Report periods: UTC days and ISO weeks as half-open intervals."""

from datetime import UTC, datetime

import pytest

from riskgov.reports.domain.periods import PeriodError, period_last_complete, period_parse


def test_day_is_the_utc_day():
    period = period_parse("2026-11-24", "daily")
    assert (period.start, period.end, period.label) == (
        datetime(2026, 11, 24, tzinfo=UTC),
        datetime(2026, 11, 25, tzinfo=UTC),
        "2026-11-24",
    )


def test_week_is_the_iso_week_from_monday():
    period = period_parse("2026-W47", "weekly")
    assert (period.start, period.end) == (datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC))
    assert period_parse("2026-11-22", "weekly") == period  # a Sunday belongs to the week before Monday the 23rd
    assert period_parse("2020-W53", "weekly").label == "2020-W53"


def test_last_complete_period_is_yesterday_or_last_week():
    now = datetime(2026, 11, 25, 0, 30, tzinfo=UTC)  # a Wednesday
    assert period_last_complete("daily", now).label == "2026-11-24"
    assert period_last_complete("weekly", now).label == "2026-W47"
    assert period_parse("2026-W01", "weekly").previous().label == "2025-W52"


@pytest.mark.parametrize(
    ("value", "cadence", "message"),
    [
        ("2026-W47", "daily", "is a week"),
        ("2026-W54", "weekly", "not an ISO week"),
        ("24/11/2026", "daily", "neither a day"),
    ],
)
def test_bad_periods_say_why(value, cadence, message):
    with pytest.raises(PeriodError, match=message):
        period_parse(value, cadence)

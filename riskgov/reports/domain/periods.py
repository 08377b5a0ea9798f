"""Report periods: a UTC day ("2026-11-24") or an ISO week ("2026-W47"), as half-open [start, end) instants."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

DAILY = "daily"
WEEKLY = "weekly"
_WEEK = re.compile(r"^(\d{4})-W(\d{1,2})$")


class PeriodError(ValueError):
    """A period that cannot be parsed, or does not suit the schedule's cadence."""


@dataclass(frozen=True)
class ReportPeriod:
    cadence: str
    start: datetime
    end: datetime
    label: str

    def previous(self) -> ReportPeriod:
        """The period of the same cadence that ends where this one starts."""
        return period_containing(self.cadence, self.start - timedelta(seconds=1))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def period_for_day(day: date) -> ReportPeriod:
    return ReportPeriod(DAILY, _midnight(day), _midnight(day + timedelta(days=1)), day.isoformat())


def period_for_week(year: int, week: int) -> ReportPeriod:
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError as error:
        raise PeriodError(f"{year}-W{week:02d} is not an ISO week.") from error
    return ReportPeriod(WEEKLY, _midnight(monday), _midnight(monday + timedelta(days=7)), f"{year}-W{week:02d}")


def period_containing(cadence: str, instant: datetime) -> ReportPeriod:
    """The day or ISO week (UTC) that contains `instant`."""
    day = instant.astimezone(UTC).date()
    if cadence == DAILY:
        return period_for_day(day)
    if cadence == WEEKLY:
        year, week, _ = day.isocalendar()
        return period_for_week(year, week)
    raise PeriodError(f"Unknown cadence {cadence!r}.")


def period_last_complete(cadence: str, now: datetime) -> ReportPeriod:
    """The latest period that has ended by `now`: yesterday (UTC) or last ISO week."""
    return period_containing(cadence, now).previous()


def period_parse(value: str, cadence: str) -> ReportPeriod:
    """Parse "2026-11-24" (a day; for a weekly cadence, the ISO week containing it) or "2026-W47"."""
    value = value.strip()
    week = _WEEK.match(value)
    if week:
        if cadence != WEEKLY:
            raise PeriodError(f"{value} is a week; this schedule reports days (use YYYY-MM-DD).")
        return period_for_week(int(week.group(1)), int(week.group(2)))
    try:
        day = date.fromisoformat(value)
    except ValueError as error:
        raise PeriodError(f"{value!r} is neither a day (YYYY-MM-DD) nor an ISO week (YYYY-Www).") from error
    return period_containing(cadence, _midnight(day))

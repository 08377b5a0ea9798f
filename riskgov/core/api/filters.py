"""django-filter filters shared by the APIs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 instant, converted to UTC: the database refuses offsets Python accepts (beyond ±15:59)."""

    def to_python(self, value: Any) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is None or parsed.tzinfo is None:  # naive: read in the current time zone (UTC) already
            return parsed
        try:
            return parsed.astimezone(UTC)
        except OverflowError as error:
            raise ValidationError("Enter an instant between years 1 and 9999 in UTC.", code="invalid") from error


class InstantFilter(django_filters.IsoDateTimeFilter):
    """Filter on an instant given in ISO 8601 (``2026-12-01T06:00:00Z``)."""

    field_class = UtcIsoDateTimeField

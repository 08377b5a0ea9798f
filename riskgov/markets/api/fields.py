"""Serializer fields shared by the markets API."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from rest_framework import serializers


class AmountField(serializers.DecimalField):
    """A stored amount or rate (38 digits, 18 decimals), as a decimal string."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=38, decimal_places=18, **kwargs)


class RiskFigureField(serializers.DecimalField):
    """A figure computed in Decimal (leverage, distance, margin ratio…), as a decimal string; null where it is
    infinite (a position with no equity has no finite leverage)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=60, decimal_places=18, allow_null=True, **kwargs)

    def to_representation(self, value: Decimal) -> str | None:  # type: ignore[override]
        if value is None or not value.is_finite():
            return None
        return super().to_representation(value)


class FiniteFloatField(serializers.FloatField):
    """A stored float (a percentile, a share) as a JSON number; null where it is infinite or undefined (JSON
    has no Infinity: the p90 leverage of a book with an underwater position is infinite)."""

    def to_representation(self, value: float) -> float | None:  # type: ignore[override]
        number = float(value)
        return number if math.isfinite(number) else None

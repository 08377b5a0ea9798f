"""Shared field definitions: money, prices and sizes are NUMERIC at rest."""

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import models

AMOUNT_DIGITS = 38
AMOUNT_PLACES = 18
RATE_DIGITS = 12
RATE_PLACES = 8


def amount_field(**kwargs: object) -> models.DecimalField:
    """A quote- or base-unit amount (prices, sizes, collateral)."""
    return models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES, **kwargs)  # type: ignore[arg-type]


def rate_field(**kwargs: object) -> models.DecimalField:
    """A fraction such as a margin rate (0.05 = 5 %)."""
    return models.DecimalField(max_digits=RATE_DIGITS, decimal_places=RATE_PLACES, **kwargs)  # type: ignore[arg-type]


ZERO = Decimal("0")


class EnumCharField(models.CharField):
    """A CharField whose choices come from an enum and stay out of the migration state.

    The enum validates and labels values; adding a member needs no migration, because the column
    is the same VARCHAR either way.
    """

    def deconstruct(self) -> tuple[str, str, Sequence[Any], dict[str, Any]]:
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("choices", None)
        return name, path, args, kwargs

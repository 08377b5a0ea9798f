"""The SQLite text of a 256-bit integer: it decodes to the same integer and its string order is the numeric order."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from riskgov.core.models.uint256 import (
    INT256_MAX,
    INT256_MIN,
    UINT256_MAX,
    Int256Field,
    Uint256Field,
    sqlite_decode,
    sqlite_encode,
)

uint256 = st.integers(min_value=0, max_value=UINT256_MAX)
int256 = st.integers(min_value=INT256_MIN, max_value=INT256_MAX)


@given(st.lists(uint256, min_size=2, max_size=20))
def test_unsigned_text_round_trips_and_sorts_as_the_integers(values: list[int]) -> None:
    texts = [sqlite_encode(v, signed=False) for v in values]
    assert [sqlite_decode(t, signed=False) for t in texts] == values
    assert {len(t) for t in texts} == {78}
    assert sorted(texts) == [sqlite_encode(v, signed=False) for v in sorted(values)]


@given(st.lists(int256, min_size=2, max_size=20))
def test_signed_text_round_trips_and_sorts_as_the_integers(values: list[int]) -> None:
    texts = [sqlite_encode(v, signed=True) for v in values]
    assert [sqlite_decode(t, signed=True) for t in texts] == values
    assert {len(t) for t in texts} == {79}
    assert sorted(texts) == [sqlite_encode(v, signed=True) for v in sorted(values)]


def test_the_extremes() -> None:
    assert sqlite_encode(UINT256_MAX, signed=False) == str(UINT256_MAX)  # 78 digits, no padding needed
    assert sqlite_encode(0, signed=False) == "0" * 78
    assert sqlite_encode(INT256_MIN, signed=True) < sqlite_encode(-1, signed=True) < sqlite_encode(0, signed=True)
    assert sqlite_encode(0, signed=True) < sqlite_encode(INT256_MAX, signed=True)
    with pytest.raises(ValueError, match="negative"):
        sqlite_encode(-1, signed=False)


def test_the_fields_validate_their_range_and_whole_numbers() -> None:
    unsigned, signed = Uint256Field(), Int256Field()
    unsigned.run_validators(Decimal(UINT256_MAX))
    signed.run_validators(Decimal(INT256_MIN))
    for field, value in ((unsigned, -1), (unsigned, UINT256_MAX + 1), (signed, INT256_MAX + 1), (unsigned, "1.5")):
        with pytest.raises(ValidationError):
            field.clean(Decimal(value), None)
    assert unsigned.deconstruct()[3] == {}  # digits and places are the type's, not the migration's

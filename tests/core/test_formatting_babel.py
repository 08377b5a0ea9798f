"""The formatting layer writes en_US digits with Python's decimal formatting; Babel's patterns are the reference."""

from __future__ import annotations

from decimal import Decimal, localcontext

from babel.numbers import format_decimal
from hypothesis import given, settings
from hypothesis import strategies as st

from riskgov.core import formatting

# Values as a NUMERIC(38, 18) holds them, and products of two of them (up to 36 decimals).
decimals = st.decimals(
    min_value=Decimal("-1e20"), max_value=Decimal("1e20"), allow_nan=False, allow_infinity=False, places=18
) | st.decimals(min_value=Decimal("-1e6"), max_value=Decimal("1e6"), allow_nan=False, allow_infinity=False, places=36)


def babel_text(value: Decimal, places: int, *, grouping: bool, strip_zeros: bool) -> str:
    rounded = value.quantize(Decimal(1).scaleb(-places), context=formatting.CONTEXT)
    if rounded.is_zero():
        rounded = abs(rounded)
    pattern = ("#,##0" if grouping else "0") + (("." + ("#" if strip_zeros else "0") * places) if places else "")
    with localcontext(formatting.CONTEXT):  # Babel quantizes in the current context: wide enough for these digits
        return format_decimal(rounded, format=pattern, locale="en_US", decimal_quantization=False)


@settings(max_examples=400, deadline=None)
@given(value=decimals, places=st.integers(min_value=0, max_value=12), grouping=st.booleans(), strip=st.booleans())
def test_decimal_text_writes_what_babel_writes(value: Decimal, places: int, grouping: bool, strip: bool) -> None:
    expected = babel_text(value, places, grouping=grouping, strip_zeros=strip)
    assert formatting.decimal_text(value, places, grouping=grouping, strip_zeros=strip) == expected


def test_edges_against_babel() -> None:
    values = [
        Decimal("0"),
        Decimal("-0"),
        Decimal("0E-18"),
        Decimal("-0.004"),
        Decimal("1E+3"),
        Decimal("999.995"),
        Decimal("-999999.9999"),
        Decimal("1234567890123456789.123456789012345678"),
        Decimal("0.000001234565"),
        Decimal("100"),
        Decimal("-1E+20"),
    ]
    for value in values:
        for places in (0, 1, 2, 4, 6, 9):
            for grouping in (True, False):
                for strip in (True, False):
                    expected = babel_text(value, places, grouping=grouping, strip_zeros=strip)
                    assert formatting.decimal_text(value, places, grouping=grouping, strip_zeros=strip) == expected, (
                        value,
                        places,
                        grouping,
                        strip,
                    )

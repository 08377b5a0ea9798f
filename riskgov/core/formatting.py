"""The one number formatting layer, for pages (template filters in ``riskgov_format``), the admin, CSV, PDF and
messages. Babel's number patterns in one locale (``LOCALE``), so separators, signs and percent signs are the
same everywhere; values are rounded half up to the places shown, in a context wide enough for a NUMERIC(38, 18).
In ``LOCALE`` (en_US: "," groups of three, "." decimals, "-" sign) the digits are written by Python's own
decimal formatting, which gives Babel's text for these patterns in a tenth of the time (a positions page prints
about 500 figures); the tests hold it to Babel's output.

People read: ``money`` 1,234.56 · ``usd`` $1.23M · ``price`` 97,123.45 / 0.012345 · ``size`` 1.5 · ``rate``
10.00 % · ``leverage`` 12.50x · ``p_value`` 0.031 / < 0.001 · ``market_name`` BTC-USD. Machines read (CSV
cells, JSON, error messages that quote a value): ``plain`` 200, 0.05, 0 (never 2E+2, 0E-18 or 18 zero decimals).
Inputs are Decimal, float, int, decimal strings or None; None and unreadable values show as a dash (``plain``
gives "").
"""

from __future__ import annotations

import decimal
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import format_decimal

LOCALE = "en_US"
_PYTHON_DIGITS_LOCALE = "en_US"  # the locale whose symbols Python's format() writes
DASH = "—"
MINUS = "−"  # U+2212: people-facing negatives (signed changes)
INFINITY = "∞"
Number = Decimal | float | int | str | None

WHOLE_DOLLARS_FROM = Decimal(100)  # `usd` drops the cents from here up
PRICE_CENTS_FROM = Decimal(1000)  # `price` shows two decimals from here up, four from 1, six significant below
PRICE_SIGNIFICANT_BELOW_ONE = 6
SIZE_PLACES = 4  # `size` shows at most this many decimals, without trailing zeros
RATE_PLACES = 2  # `rate`: 0.1 → 10.00 %
P_VALUE_FLOOR = Decimal("0.001")  # smaller p-values print as "< 0.001": the digits beyond carry no decision
COMPACT_STEPS = ((Decimal("1e12"), "T"), (Decimal("1e9"), "B"), (Decimal("1e6"), "M"), (Decimal("1e3"), "K"))
CONTEXT = decimal.Context(prec=80, rounding=ROUND_HALF_UP)  # NUMERIC(38, 18) and its products fit exactly


def as_decimal(value: object) -> Decimal | None:
    """`value` as a Decimal (floats through their shortest repr), or None when it is empty or not a number."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return None if value.is_nan() else value
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return None if amount.is_nan() else amount


def _rounded(amount: Decimal, places: int) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-places), context=CONTEXT)


def _pattern(places: int, *, grouping: bool = True, optional: bool = False) -> str:
    digits = ("#" if optional else "0") * places
    return ("#,##0" if grouping else "0") + (f".{digits}" if places else "")


def decimal_text(value: Number, places: int, *, grouping: bool = True, strip_zeros: bool = False) -> str | None:
    """`value` rounded half up to `places` decimals (Babel pattern, no exponent); None for no number, ∞ kept."""
    amount = as_decimal(value)
    if amount is None:
        return None
    if amount.is_infinite():
        return INFINITY if amount > 0 else f"-{INFINITY}"
    rounded = _rounded(amount, places)
    if rounded.is_zero():
        rounded = abs(rounded)  # no "-0.00"
    if LOCALE != _PYTHON_DIGITS_LOCALE:
        pattern = _pattern(places, grouping=grouping, optional=strip_zeros)
        return format_decimal(rounded, format=pattern, locale=LOCALE, decimal_quantization=False)
    return _en_us_text(rounded, places, grouping=grouping, strip_zeros=strip_zeros)


def _en_us_text(rounded: Decimal, places: int, *, grouping: bool, strip_zeros: bool) -> str:
    """Babel's `_pattern(places, grouping, optional=strip_zeros)` in en_US for a value already rounded to `places`
    decimals (its exponent is -places): the digits it has, "," between groups of three, optional zeros dropped."""
    text = format(rounded, ",f" if grouping else "f")
    if strip_zeros and places > 0:
        text = text.rstrip("0").rstrip(".")
    return text


def _people(text: str | None) -> str:
    return DASH if text is None else text


def money(value: Number, places: int = 2) -> str:
    """A full quote amount: 1,234,567.89 (two decimals, thousands separators)."""
    return _people(decimal_text(value, places))


def usd(value: Number) -> str:
    """A compact quote amount: $1.23B, $45.60M, $7.80K, $950, $12.34; negatives −$350.00K."""
    amount = as_decimal(value)
    if amount is None:
        return DASH
    if amount.is_infinite():
        return INFINITY if amount > 0 else f"{MINUS}{INFINITY}"
    sign = MINUS if _rounded(amount, 2) < 0 else ""
    amount = abs(amount)
    for threshold, suffix in COMPACT_STEPS:
        # a value that rounds up to the next step shows in it ($999.996K is $1.00M)
        if _rounded(amount / threshold, 2) >= 1:
            return f"{sign}${money(amount / threshold)}{suffix}"
    places = 0 if amount >= WHOLE_DOLLARS_FROM else 2
    return f"{sign}${money(amount, places)}"


def price(value: Number) -> str:
    """A price with the precision its size needs: 97,123.45 · 22.4567 · 0.012345 (six significant digits)."""
    amount = as_decimal(value)
    if amount is None:
        return DASH
    if amount.is_infinite():
        return INFINITY
    size_ = abs(amount)
    if size_ >= PRICE_CENTS_FROM:
        return money(amount)
    if size_ >= 1:
        return money(amount, 4)
    if size_.is_zero():
        return "0"
    places = PRICE_SIGNIFICANT_BELOW_ONE - 1 - size_.adjusted()  # adjusted() is the exponent of the first digit
    return _people(decimal_text(amount, places, strip_zeros=True))


def size(value: Number, places: int = SIZE_PLACES) -> str:
    """A position size or quantity in base units: 1,234.5 · 0.0012 (at most four decimals, no trailing zeros)."""
    return _people(decimal_text(value, places, strip_zeros=True))


def count(value: Number) -> str:
    """A whole count: 20,000."""
    return _people(decimal_text(value, 0))


def rate(value: Number, places: int = RATE_PLACES) -> str:
    """A fraction as a percentage, the same everywhere: 0.1 → 10.00 %, 0.0525 → 5.25 %."""
    amount = as_decimal(value)
    if amount is None:
        return DASH
    if amount.is_infinite():
        return INFINITY if amount > 0 else f"{MINUS}{INFINITY}"
    return f"{decimal_text(amount * 100, int(places))} %"


def leverage(value: Number) -> str:
    """A leverage or multiple: 12.50x (∞ when equity is gone)."""
    amount = as_decimal(value)
    if amount is None:
        return DASH
    return f"{decimal_text(amount, 2)}x" if amount.is_finite() else INFINITY


def multiple(value: Number, places: int = 2) -> str:
    """A ratio such as fund ÷ ES99: 1.85×; None stands for unbounded (no tail loss)."""
    amount = as_decimal(value)
    return INFINITY if amount is None or amount.is_infinite() else f"{decimal_text(amount, places)}×"


def p_value(value: Number) -> str:
    """A test's p-value: three decimals, "< 0.001" below that (never 2.83e-170)."""
    amount = as_decimal(value)
    if amount is None:
        return DASH
    if amount < P_VALUE_FLOOR:
        return f"< {plain(P_VALUE_FLOOR)}"
    return _people(decimal_text(amount, 3, grouping=False))


def signed(text: str, amount: Decimal) -> str:
    """`text` (a formatted magnitude) with + or − in front; ± for zero."""
    if amount.is_zero():
        return f"±{text}"
    return f"+{text}" if amount > 0 else f"{MINUS}{text}"


def signed_usd(value: Number) -> str:
    """A change in quote units: +$1.20M, −$350.00K, ±$0."""
    amount = as_decimal(value)
    if amount is None:
        return DASH
    return "±$0" if _rounded(amount, 2).is_zero() else signed(usd(abs(amount)), amount)


def signed_points(value: Number, places: int = 1) -> str:
    """A change of a fraction in percentage points: 0.012 → +1.2 pp."""
    amount = as_decimal(value)
    if amount is None:
        return DASH
    points = _rounded(amount * 100, int(places))
    return signed(f"{decimal_text(abs(points), int(places))} pp", points)


def signed_number(value: Number, places: int = 0) -> str:
    """A signed change of a count or figure: +1,204, −3."""
    amount = as_decimal(value)
    if amount is None:
        return DASH
    rounded = _rounded(amount, int(places))
    return signed(str(decimal_text(abs(rounded), int(places))), rounded)


def plain(value: Number) -> str:
    """A machine-readable decimal with the digits it has and no more: 200, 0.05, 0 — never 2E+2, 0E-18 or
    0.050000000000000000. For CSV cells, JSON figures and messages that quote a value; "" for no number."""
    amount = as_decimal(value)
    if amount is None:
        return ""
    if amount.is_infinite():
        return "inf" if amount > 0 else "-inf"
    if amount.is_zero():
        return "0"
    normal = amount.normalize(context=CONTEXT)
    return format(normal, "f")


def market_name(value: object) -> str:
    """A market as people see it everywhere: BTC-USD (a Market, or a base symbol with the default quote)."""
    if value is None or value == "":
        return DASH
    symbol = getattr(value, "symbol", None)
    if symbol is not None:
        quote = getattr(value, "quote_asset", "") or "USD"
        return f"{symbol}-{quote}"
    text = str(value)
    return text if "-" in text else f"{text}-USD"


RATE_FIELDS = frozenset({"imr", "mmr", "liquidation_penalty", "insurance_fee_share", "size_margin_slope"})
QUOTE_FIELDS = frozenset({"oi_cap", "size_margin_base"})


def parameter_value(value: Number, field: str) -> str:
    """A margin parameter for people: rates as percentages (3.50 %), leverage as a multiple (18×), caps and base
    sizes in dollars ($250.00M)."""
    amount = as_decimal(value)
    if amount is None:
        return DASH
    if field in RATE_FIELDS:
        return rate(amount)
    if field == "max_leverage":
        return f"{decimal_text(amount, 2, strip_zeros=True)}×"
    if field in QUOTE_FIELDS:
        return usd(amount)
    return count(amount)


WEI = Decimal(10) ** 18
WHOLE_TOKENS_FROM = Decimal(1000)  # `tokens` drops the decimals from here up


def tokens(value: Number) -> str:
    """Governance-token wei as whole tokens: 40,000 (two decimals below 1,000: 12.50)."""
    amount = as_decimal(value)
    if amount is None:
        return DASH
    amount = amount.scaleb(-18, context=CONTEXT)
    return money(amount, 0 if abs(amount) >= WHOLE_TOKENS_FROM else 2)


def grouped(value: Number) -> str:
    """A decimal with the digits it has, thousands grouped, for tables of stored values such as the admin's:
    20,000 · 0.05 · 1,234.5678 (never 20000.000000000000000000 or 0E-18)."""
    amount = as_decimal(value)
    if amount is None:
        return DASH
    text = plain(amount)
    places = len(text.partition(".")[2]) if amount.is_finite() else 0
    return _people(decimal_text(amount, places))

"""The one formatting layer against hand-written expectations: what a person reads and what a CSV cell holds."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template

from riskgov.core import formatting

D = Decimal


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D("1234567.891"), "1,234,567.89"),
        (D("1234.565"), "1,234.57"),  # half up, not half even
        (D("0.005"), "0.01"),
        (D("-0.004"), "0.00"),  # never "-0.00"
        (D("0E-18"), "0.00"),
        (D("1E+3"), "1,000.00"),
        (-12, "-12.00"),
        (None, "—"),
        ("not a number", "—"),
    ],
)
def test_money(value: object, expected: str) -> None:
    assert formatting.money(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D("1234567890"), "$1.23B"),
        (D("45600000"), "$45.60M"),
        (D("999996"), "$1.00M"),  # rounds into the next step, never "$1,000.00K"
        (D("7800"), "$7.80K"),
        (D("950"), "$950"),
        (D("12.345"), "$12.35"),
        (D("-350000"), "−$350.00K"),
        (D("0"), "$0.00"),
        (D("2E+2"), "$200"),
    ],
)
def test_usd(value: Decimal, expected: str) -> None:
    assert formatting.usd(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D("0.1"), "10.00 %"),
        (D("0.0525"), "5.25 %"),
        (D("0.035"), "3.50 %"),
        (0.5, "50.00 %"),
        (D("1"), "100.00 %"),
        (D("-0.00001"), "0.00 %"),
        (D("0.100000000000000000"), "10.00 %"),
        (None, "—"),
    ],
)
def test_rate_is_two_decimals_with_a_spaced_percent_sign(value: object, expected: str) -> None:
    assert formatting.rate(value) == expected


def test_rate_other_places() -> None:
    assert formatting.rate(D("0.99"), 1) == "99.0 %"
    assert formatting.rate(D("0.125"), 0) == "13 %"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D("97123.456"), "97,123.46"),
        (D("22.45678"), "22.4568"),
        (D("0.0123456789"), "0.0123457"),  # six significant digits under 1
        (D("0.35"), "0.35"),
        (D("0"), "0"),
    ],
)
def test_price(value: Decimal, expected: str) -> None:
    assert formatting.price(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D("1.500000000000000000"), "1.5"),
        (D("-12345.67891"), "-12,345.6789"),
        (D("0E-18"), "0"),
        (D("2E+2"), "200"),
    ],
)
def test_size(value: Decimal, expected: str) -> None:
    assert formatting.size(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2.83e-170, "< 0.001"),
        (0.0009999, "< 0.001"),
        (0.001, "0.001"),
        (0.0314, "0.031"),
        (0.0315, "0.032"),
        (1.0, "1.000"),
        (None, "—"),
    ],
)
def test_p_value(value: float | None, expected: str) -> None:
    assert formatting.p_value(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D("2E+2"), "200"),
        (D("0E-18"), "0"),
        (D("0.050000000000000000"), "0.05"),
        (D("123456789012345678.123456789012345678"), "123456789012345678.123456789012345678"),
        (D("-1.10"), "-1.1"),
        (D("1E-18"), "0.000000000000000001"),
        (0.1, "0.1"),
        (None, ""),
    ],
)
def test_plain_never_has_an_exponent_or_trailing_zeros(value: object, expected: str) -> None:
    assert formatting.plain(value) == expected


def test_signed_changes() -> None:
    assert formatting.signed_usd(D("1200000")) == "+$1.20M"
    assert formatting.signed_usd(D("-350000")) == "−$350.00K"
    assert formatting.signed_usd(D("0.001")) == "±$0"
    assert formatting.signed_points(D("0.012")) == "+1.2 pp"
    assert formatting.signed_points(D("-0.0004")) == "±0.0 pp"
    assert formatting.signed_number(D("-3")) == "−3"
    assert formatting.signed_number(1204) == "+1,204"


def test_leverage_multiple_count_tokens() -> None:
    assert formatting.leverage(D("12.5")) == "12.50x"
    assert formatting.leverage(D("Infinity")) == "∞"
    assert formatting.multiple(1.849) == "1.85×"
    assert formatting.multiple(None) == "∞"
    assert formatting.count(20000) == "20,000"
    assert formatting.tokens(40_000 * 10**18) == "40,000"
    assert formatting.tokens(125 * 10**17) == "12.50"


def test_parameter_values() -> None:
    assert formatting.parameter_value(D("0.035"), "mmr") == "3.50 %"
    assert formatting.parameter_value(D("0.100000000000000000"), "imr") == "10.00 %"
    assert formatting.parameter_value(D("20.000000000000000000"), "max_leverage") == "20×"
    assert formatting.parameter_value(D("12.5"), "max_leverage") == "12.5×"
    assert formatting.parameter_value(D("250000000"), "oi_cap") == "$250.00M"


def test_market_name_is_one_way() -> None:
    class MarketLike:
        symbol = "ETH"
        quote_asset = "USD"

    assert formatting.market_name("BTC") == "BTC-USD"
    assert formatting.market_name("BTC-USD") == "BTC-USD"
    assert formatting.market_name(MarketLike()) == "ETH-USD"
    assert formatting.market_name(None) == "—"


def test_template_filters_are_the_formatting_functions() -> None:
    rendered = Template(
        "{% load riskgov_format %}{{ r|pct }}|{{ r|percent }}|{{ m|usd }}|{{ z|plain }}|"
        "{{ s|market_name }}|{{ p|p_value }}"
    ).render(Context({"r": D("0.1"), "m": D("2E+2"), "z": D("0E-18"), "s": "SOL", "p": 1e-9}))
    assert rendered == "10.00 %|10.00 %|$200|0|SOL-USD|&lt; 0.001"

"""The admin's look: RiskGov's titles and favicon, one date format, decimals with the digits they have (never
18 places or an exponent) in lists, read-only inlines and forms; and CSV cells written the same way."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from riskgov.reports.services.render import _cell
from tests.factories import MarginParametersFactory, MarketFactory, PositionFactory

EIGHTEEN_PLACES = re.compile(r"\d\.\d{18}\b")
EXPONENT = re.compile(r"\b\d(\.\d+)?E[+-]?\d+\b")


@pytest.fixture
def admin_client_signed_in(db: None) -> Client:
    user = get_user_model().objects.create_superuser("root", "root@example.org", "pw")
    client = Client()
    client.force_login(user)
    return client


def test_titles_favicon_and_date_format(admin_client_signed_in: Client) -> None:
    PositionFactory(external_id="pos-look", opened_at=datetime(2024, 3, 5, 14, 7, tzinfo=UTC))
    html = admin_client_signed_in.get(reverse("admin:markets_position_changelist")).content.decode()
    assert "RiskGov administration" in html and "Django administration" not in html
    assert "<title>Select position to change | RiskGov admin</title>" in html
    assert re.search(r'<link rel="icon" href="/static/img/favicon\.svg"', html)
    assert "2024-03-05 14:07" in html and "March 5, 2024" not in html
    index = admin_client_signed_in.get(reverse("admin:index")).content.decode()
    assert "Markets, parameters, governance, insurance and reports" in index


def test_decimals_in_lists_inlines_and_forms(admin_client_signed_in: Client) -> None:
    market = MarketFactory(symbol="LOOK", depth=Decimal("2E+7"))
    MarginParametersFactory(market=market, imr=Decimal("0.1"), mmr=Decimal("0.05"), oi_cap=Decimal("250000000"))
    PositionFactory(market=market, size=Decimal("-1.5"), entry_price=Decimal("3000"), collateral=Decimal("0"))

    positions = admin_client_signed_in.get(reverse("admin:markets_position_changelist")).content.decode()
    assert '<td class="field-size">-1.5</td>' in positions
    assert '<td class="field-entry_price">3,000</td>' in positions
    assert '<td class="field-collateral">0</td>' in positions

    markets = admin_client_signed_in.get(reverse("admin:markets_market_changelist")).content.decode()
    assert '<td class="field-depth">20,000,000</td>' in markets

    change = admin_client_signed_in.get(reverse("admin:markets_market_change", args=[market.pk])).content.decode()
    assert re.search(r'name="depth" value="20000000"', change)  # the input a person edits: plain digits
    assert "0.1" in change and "250,000,000" in change  # the read-only parameter versions inline
    for page in (positions, markets, change):
        assert not EIGHTEEN_PLACES.search(page), EIGHTEEN_PLACES.search(page)
        assert not EXPONENT.search(page), EXPONENT.search(page)


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (Decimal("85260.000000000000000000"), "85260"),
        ("85260.000000000000000000", "85260"),  # as a report's stored content holds it
        ("0E-18", "0"),
        (Decimal("2E+2"), "200"),
        (1e-05, "0.00001"),
        (0.25, "0.25"),
        (12, "12"),
        (True, "true"),
        (None, ""),
        ("BTC", "BTC"),
        ("2026-12-01T00:00:00+00:00", "2026-12-01T00:00:00+00:00"),
    ],
)
def test_report_csv_cells(value: object, cell: str) -> None:
    assert _cell(value) == cell


def test_voters_csv_weight_has_no_exponent() -> None:
    from riskgov.governance.selectors.pages import proposal_voters_csv

    class VoteLike:
        voter, support, nonce, signature, reason, reason_signed, submitted_by = "0xabc", 1, 0, "0x", "", False, "web"
        weight = Decimal(1000 * 10**18)
        created_at = datetime(2026, 1, 1, tzinfo=UTC)

        def get_support_display(self) -> str:
            return "For"

    rows = list(csv.DictReader(io.StringIO("".join(proposal_voters_csv([VoteLike()])))))  # type: ignore[list-item]
    assert rows[0]["weight_votes"] == "1000" and rows[0]["weight_wei"] == str(1000 * 10**18)


def test_per_path_csv_cells_have_no_exponent() -> None:
    import numpy as np

    from insurance.selectors.coverage import _csv_cells

    assert _csv_cells(np.array([1e-05, 0.0, 1234.5, 3e20])) == ["0.00001", "0", "1234.5", "300000000000000000000"]
    assert _csv_cells(np.array([0, 7])) == [0, 7]
    assert _csv_cells(np.array([True, False])) == [True, False]

"""Bad input never crashes an import: every case is "row N, field: reason" from the command and a 400
from the upload page, and nothing already stored changes. Runs on PostgreSQL and SQLite."""

from __future__ import annotations

import csv
import json
from decimal import Decimal as D
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from riskgov.core.roles import Role, role_assign
from riskgov.markets.models import Position
from riskgov.markets.services.imports import import_file
from tests.factories import MarketFactory

pytestmark = pytest.mark.django_db

ADDRESS = "0x52908400098527886e0f7030069857d2e4169ee7"
HEADER = "external_id,account,market,size,entry_price,collateral,status,opened_at"
GOOD_ROW = f"keep-1,{ADDRESS},ETH,2.5,3000,1500,open,2025-01-01T00:00:00Z"


def csv_file(*rows: str) -> str:
    return "\n".join((HEADER, *rows)) + "\n"


def json_row(**overrides: object) -> dict:
    return {"external_id": "j-1", "account": ADDRESS, "market": "ETH", "size": "1", "entry_price": "3000"} | {
        "collateral": "300",
        **overrides,
    }


def json_with_raw(field: str, raw: str, *, rows_before: int = 0) -> str:
    """A JSON file whose last row carries `raw` (JSON text, unparsed) as `field`."""
    rows = [json_row(external_id=f"j-{i}") for i in range(rows_before)] + [json_row(**{field: "RAW"})]
    return json.dumps(rows).replace('"RAW"', raw)


BAD_FILES = {
    "csv cell over the field limit": (
        "positions.csv",
        csv_file(GOOD_ROW, f"big-1,{ADDRESS},ETH,1,3000,{'9' * (csv.field_size_limit() + 10)},open,"),
        "row 2, collateral: a cell is longer than",
    ),
    "json integer over 4,300 digits": (
        "positions.json",
        json_with_raw("size", "9" * 5000),
        "row 1, size: is too large",
    ),
    "json integer over 100,000 digits": (
        "positions.json",
        json_with_raw("entry_price", "1" * 100_001),
        "row 1, entry_price: is too large",
    ),
    "deeply nested json": (
        "positions.json",
        json_with_raw("external_id", "[" * 100_000 + "]" * 100_000, rows_before=1),
        "row 2, external_id: is nested too deeply",
    ),
    "nul byte in a csv text field": (
        "positions.csv",
        csv_file(f"nul\x00-1,{ADDRESS},ETH,1,3000,300,open,"),
        "row 1, external_id: contains a control character (U+0000)",
    ),
    "nul byte in a json text field": (
        "positions.json",
        json.dumps([json_row(external_id="nul\u0000")]),
        "row 1, external_id: contains a control character (U+0000)",
    ),
    "more than 15 significant digits": (
        "positions.csv",
        csv_file(f"d-1,{ADDRESS},ETH,1,3000.000000000001,300,open,"),
        "row 1, entry_price: has more than 15 significant digits",
    ),
    "an entry price that no database reads back": (
        "positions.csv",
        csv_file(f"d-1,{ADDRESS},ETH,1,99999999999999999999,300,open,"),
        "row 1, entry_price: has more than 15 significant digits",
    ),
    "a notional the snapshot cannot hold": (
        "positions.csv",
        csv_file(f"d-1,{ADDRESS},ETH,1e18,100000,300,open,"),
        "row 1, size: notional at entry (size × entry_price) must be below",
    ),
}


@pytest.fixture
def stored() -> Position:
    MarketFactory(symbol="ETH")
    import_file(kind="positions", content=csv_file(GOOD_ROW), fmt="csv")
    return Position.objects.get()


def _unchanged(before: Position) -> None:
    after = Position.objects.get()
    fields = ("external_id", "size", "entry_price", "collateral", "bankruptcy_price", "updated_at")
    assert [getattr(after, f) for f in fields] == [getattr(before, f) for f in fields]


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_command_reports_row_field_and_reason(case, stored, tmp_path):
    name, content, expected = BAD_FILES[case]
    path = tmp_path / name
    path.write_text(content)
    err = StringIO()

    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_positions", str(path), stderr=err, no_progress=True)

    assert expected in err.getvalue()
    assert len(err.getvalue()) < 2000  # a huge cell is quoted short, not echoed
    _unchanged(stored)


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_upload_page_answers_400_with_the_reason(case, stored, client):
    user = get_user_model().objects.create_user("risk", password="pw")
    role_assign(user=user, roles=[Role.RISK_STEWARD])
    client.force_login(user)
    name, content, expected = BAD_FILES[case]

    response = client.post(
        reverse("riskgov:import"), {"kind": "positions", "file": SimpleUploadedFile(name, content.encode())}
    )

    assert response.status_code == 400
    row, _, rest = expected.partition(", ")
    field, _, reason = rest.partition(": ")
    body = response.content.decode()
    assert row.removeprefix("row ") in body and field in body and reason.split(" (")[0][:30] in body
    _unchanged(stored)


def test_fifteen_digit_amounts_round_trip_and_reimport_changes_nothing():
    MarketFactory(symbol="ETH")
    rows = [
        f"e-1,{ADDRESS},ETH,123456789.012345,0.000123456789012345,99999.9999999999,open,2025-01-01T00:00:00Z",
        f"e-2,{ADDRESS},ETH,-0.000000000000000001,99999999999999900000,1,open,2025-01-01T00:00:00Z",
        f"e-3,{ADDRESS},ETH,1,0.123456789012345,0.000000000000000001,open,2025-01-01T00:00:00Z",
    ]
    content = csv_file(*rows)
    assert import_file(kind="positions", content=content, fmt="csv").created == 3

    stored = {p.external_id: (p.size, p.entry_price, p.collateral) for p in Position.objects.all()}
    assert stored["e-1"] == (D("123456789.012345"), D("0.000123456789012345"), D("99999.9999999999"))
    assert stored["e-2"] == (D("-1e-18"), D("99999999999999900000"), D("1"))
    assert stored["e-3"] == (D("1"), D("0.123456789012345"), D("1e-18"))
    again = import_file(kind="positions", content=content, fmt="csv")
    assert (again.updated, again.unchanged) == (0, 3)

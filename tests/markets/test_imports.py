"""Imports: every row validated first, nothing written on any error, re-importing changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal as D
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from riskgov.core.roles import Role, role_assign
from riskgov.markets.management.commands.import_prices import Command as ImportPricesCommand
from riskgov.markets.models import Account, Position, PriceObservation
from riskgov.markets.services.imports import ImportRejected, import_file
from tests.factories import MarketFactory, PositionFactory

pytestmark = pytest.mark.django_db

ADDRESS = "0x52908400098527886e0f7030069857d2e4169ee7"  # EIP-55 test vector, lower-cased
CHECKSUMMED = "0x52908400098527886E0F7030069857D2E4169EE7"
OTHER = "0xde709f2102306220921060314715629080e2fb77"

POSITIONS_CSV = f"""external_id,account,market,size,entry_price,collateral,status,opened_at
p-1,{ADDRESS},ETH,2.5,3000,1500,open,2025-01-01T00:00:00Z
p-2,{OTHER},btc,-0.1,95000,1900,,2025-01-02T12:00:00+02:00
p-3,{ADDRESS},ETH,1,3100,620,closed,
"""

PRICES_CSV = """market,price,observed_at,source,round_id
ETH,3000.5,2025-01-01T00:00:00Z,chainlink,101
ETH,3010,2025-01-01T01:00:00Z,chainlink,102
BTC,95000,2025-01-01T00:00:00+00:00,,
"""


@pytest.fixture(autouse=True)
def markets():
    return MarketFactory(symbol="ETH"), MarketFactory(symbol="BTC")


def positions_csv(*rows: str) -> str:
    return "external_id,account,market,size,entry_price,collateral,status,opened_at\n" + "\n".join(rows) + "\n"


def test_positions_csv_happy_path():
    result = import_file(kind="positions", content=POSITIONS_CSV, fmt="csv")

    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    short = Position.objects.get(external_id="p-2")
    assert short.size == D("-0.1") and short.market.symbol == "BTC" and short.status == "open"
    assert short.opened_at == datetime(2025, 1, 2, 10, tzinfo=UTC)
    assert Position.objects.get(external_id="p-3").status == "closed"
    assert set(Account.objects.values_list("address", flat=True)) >= {CHECKSUMMED}


def test_positions_json_happy_path():
    rows = [
        {
            "external_id": "j-1",
            "account": ADDRESS,
            "market": "ETH",
            "size": 1.25,
            "entry_price": "3000",
            "collateral": 300,
            "opened_at": "2025-01-01T00:00:00Z",
        },
        {
            "external_id": "j-2",
            "account": OTHER,
            "market": "BTC",
            "size": -2,
            "entry_price": 90000.5,
            "collateral": 0,
            "status": "liquidated",
        },
    ]
    result = import_file(kind="positions", content=json.dumps(rows), fmt="json")

    assert result.created == 2
    assert Position.objects.get(external_id="j-1").size == D("1.25")
    assert Position.objects.get(external_id="j-2").entry_price == D("90000.5")


def test_prices_csv_and_json_happy_path():
    result = import_file(kind="prices", content=PRICES_CSV, fmt="csv")
    assert result.created == 3
    assert PriceObservation.objects.get(market__symbol="BTC").source == "import"

    rows = [
        {"market": "ETH", "price": 3020, "observed_at": "2025-01-01T02:00:00Z", "source": "chainlink", "round_id": 103}
    ]
    assert import_file(kind="prices", content=json.dumps(rows), fmt="json").created == 1
    assert PriceObservation.objects.get(round_id="103").price == D("3020")


def test_bad_rows_are_reported_with_row_number_field_and_reason():
    content = positions_csv(
        f"ok-1,{ADDRESS},ETH,1,3000,300,open,2025-01-01T00:00:00Z",
        "bad-1,0x1234,ETH,1,3000,300,open,2025-01-01T00:00:00Z",
        f"bad-2,{ADDRESS},DOGE,0,-5,-1,sleeping,yesterday",
        f"ok-1,{ADDRESS},ETH,1,3000,300,open,2025-01-01T00:00:00Z",
    )
    with pytest.raises(ImportRejected) as caught:
        import_file(kind="positions", content=content, fmt="csv")

    found = {(e.row, e.field) for e in caught.value.errors}
    assert (2, "account") in found
    assert {(3, "market"), (3, "size"), (3, "entry_price"), (3, "collateral"), (3, "status"), (3, "opened_at")} <= found
    assert (4, "external_id") in found
    reasons = {(e.row, e.field): e.reason for e in caught.value.errors}
    assert "unknown market 'DOGE'" in reasons[(3, "market")]
    assert reasons[(4, "external_id")] == "duplicate of row 1"
    assert "header line is not counted" in str(caught.value)
    assert not Position.objects.exists()


def test_file_level_errors():
    with pytest.raises(ImportRejected, match="unknown column"):
        import_file(kind="positions", content="external_id,acount\nx,y\n", fmt="csv")
    with pytest.raises(ImportRejected, match="invalid JSON"):
        import_file(kind="prices", content="[{", fmt="json")
    with pytest.raises(ImportRejected) as caught:
        import_file(
            kind="prices", content='[{"market": "ETH", "price": 1, "observed_at": "2025-01-01T00:00:00"}]', fmt="json"
        )
    assert caught.value.errors[0].field == "observed_at" and "no time zone" in caught.value.errors[0].reason


def test_a_file_with_one_bad_row_changes_nothing():
    kept = PositionFactory(external_id="p-1", market=MarketFactory(symbol="ETH"), size=D("9"))
    content = POSITIONS_CSV + f"p-4,{ADDRESS},ETH,1,3000,-1,open,\n"
    accounts_before = Account.objects.count()

    with pytest.raises(ImportRejected) as caught:
        import_file(kind="positions", content=content, fmt="csv")

    assert [(e.row, e.field) for e in caught.value.errors] == [(4, "collateral")]
    assert list(Position.objects.values_list("external_id", "size")) == [("p-1", D("9"))]
    assert Position.objects.get().updated_at == kept.updated_at
    assert Account.objects.count() == accounts_before


def test_reimporting_the_same_file_changes_nothing():
    import_file(kind="positions", content=POSITIONS_CSV, fmt="csv")
    import_file(kind="prices", content=PRICES_CSV, fmt="csv")
    stamps = dict(Position.objects.values_list("external_id", "updated_at"))

    again = import_file(kind="positions", content=POSITIONS_CSV, fmt="csv")
    prices_again = import_file(kind="prices", content=PRICES_CSV, fmt="csv")

    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert (prices_again.created, prices_again.updated, prices_again.unchanged) == (0, 0, 3)
    assert dict(Position.objects.values_list("external_id", "updated_at")) == stamps
    assert Position.objects.count() == 3 and PriceObservation.objects.count() == 3


def test_update_path_writes_only_the_rows_that_differ():
    import_file(kind="positions", content=POSITIONS_CSV, fmt="csv")
    import_file(kind="prices", content=PRICES_CSV, fmt="csv")
    changed = POSITIONS_CSV.replace(
        f"p-1,{ADDRESS},ETH,2.5,3000,1500,open", f"p-1,{ADDRESS},ETH,2.5,3000,1800,liquidated"
    )

    result = import_file(kind="positions", content=changed, fmt="csv")
    prices = import_file(kind="prices", content=PRICES_CSV.replace("3010,", "3011,"), fmt="csv")

    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    position = Position.objects.get(external_id="p-1")
    assert (position.collateral, position.status) == (D("1800"), "liquidated")
    assert position.bankruptcy_price == D("3000") - D("1800") / D("2.5")
    assert (prices.updated, prices.unchanged) == (1, 2)
    assert PriceObservation.objects.get(round_id="102").price == D("3011")


def test_command_imports_and_reports(tmp_path):
    path = tmp_path / "positions.csv"
    path.write_text(POSITIONS_CSV)
    out = StringIO()

    call_command("import_positions", str(path), stdout=out)

    assert "3 created, 0 updated, 0 unchanged" in out.getvalue()
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps([{"market": "ETH", "price": "1", "observed_at": "2025-01-01T00:00:00Z"}]))
    call_command("import_prices", str(prices), stdout=out)
    assert "prices: 1 created" in out.getvalue()


def test_command_fails_with_each_error_and_changes_nothing(tmp_path):
    path = tmp_path / "positions.csv"
    path.write_text(positions_csv(f"x-1,{ADDRESS},ETH,0,3000,300,open,", f"x-2,{ADDRESS},ETH,1,3000,300,open,"))
    err = StringIO()

    with pytest.raises(CommandError, match="1 error"):
        call_command("import_positions", str(path), stderr=err)

    assert "row 1, size: must not be 0" in err.getvalue()
    assert "header line is not counted" in err.getvalue()
    assert not Position.objects.exists()


def test_command_exit_code_is_non_zero(tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text('{"not": "a list"}')

    with pytest.raises(SystemExit) as exited:
        ImportPricesCommand().run_from_argv(["manage.py", "import_prices", str(path)])

    assert exited.value.code == 1
    assert "expected a JSON list of objects" in capsys.readouterr().err


def upload(name: str, content: str, kind: str = "positions") -> dict:
    return {"kind": kind, "file": SimpleUploadedFile(name, content.encode())}


@pytest.fixture
def staff_client(client):
    user = get_user_model().objects.create_user("risk", password="pw")
    role_assign(user=user, roles=[Role.RISK_STEWARD])
    client.force_login(user)
    return client


def test_upload_page_imports_and_shows_counts(staff_client):
    url = reverse("riskgov:import")
    assert staff_client.get(url).status_code == 200

    response = staff_client.post(url, upload("positions.csv", POSITIONS_CSV))

    assert response.status_code == 200
    assert response.context["result"].created == 3
    assert b"Created" in response.content


def test_upload_page_shows_row_errors_in_a_table(staff_client):
    content = '[{"market": "XRP", "price": 1, "observed_at": "x"}]'
    response = staff_client.post(reverse("riskgov:import"), upload("prices.json", content, "prices"))

    assert response.status_code == 400
    body = response.content.decode()
    assert "unknown market &#x27;XRP&#x27;" in body and "observed_at" in body
    assert not PriceObservation.objects.exists()


def test_upload_page_refuses_unknown_extension(staff_client):
    response = staff_client.post(reverse("riskgov:import"), upload("positions.xlsx", "x"))
    assert response.status_code == 400
    assert "use .csv or .json" in response.content.decode()


def test_upload_page_needs_the_import_permission(client):
    url = reverse("riskgov:import")
    assert client.get(url).status_code == 302
    client.force_login(get_user_model().objects.create_user("holder", password="pw", is_staff=True))
    assert client.get(url).status_code == 403  # staff alone is not a permission


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1.0000000000000000001", "more than 18 decimal places"),
        ("1e21", "too large"),
        ("NaN", "finite"),
        ("abc", "is not a number"),
    ],
)
def test_amount_limits(value, reason):
    with pytest.raises(ImportRejected) as caught:
        import_file(kind="positions", content=positions_csv(f"a-1,{ADDRESS},ETH,{value},3000,300,open,"), fmt="csv")
    assert reason in caught.value.errors[0].reason


def test_trailing_zeros_beyond_18_places_are_accepted():
    content = positions_csv(f"a-1,{ADDRESS},ETH,1.50000000000000000000,3000,300,open,")
    assert import_file(kind="positions", content=content, fmt="csv").created == 1

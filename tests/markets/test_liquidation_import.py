"""Imported liquidation history: good rows upsert, a file with any bad row names it and changes nothing."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from riskgov.core.roles import Role, role_assign
from riskgov.markets.models import ImportJob, ImportJobStatus, Liquidation, LiquidationSource
from riskgov.markets.services.import_jobs import import_job_run
from riskgov.markets.services.imports import ImportRejected, RowError
from riskgov.markets.services.liquidation_imports import liquidations_import_file
from tests.factories import MarketFactory

pytestmark = pytest.mark.django_db

ADDRESS = "0x52908400098527886e0f7030069857d2e4169ee7"
HEADER = "external_id,market,account,liquidated_at,size,entry_price,collateral,price,penalty,bad_debt"
# A 2 ETH long from 3000 with 300 collateral, closed at 2800: equity 300 + 2·(−200) = −100 → bad debt 100.
UNDERWATER = f"l-1,ETH,{ADDRESS},2025-03-01T10:00:00Z,2,3000,300,2800,0,100"
# A 1 ETH short from 3000 with 200 collateral at 3150: equity 50 → no bad debt, a 15.75 penalty fits.
PENALISED = "l-2,eth,,2025-03-01T11:30:00+02:00,-1,3000,200,3150,15.75,0"
# History that only knows what the fund paid.
BARE = "l-3,BTC,,2025-03-02T00:00:00Z,-0.5,,,60000,,1234.5"


def csv_text(*rows: str) -> str:
    return "\n".join((HEADER, *rows)) + "\n"


@pytest.fixture
def markets():
    return MarketFactory(symbol="ETH"), MarketFactory(symbol="BTC")


def test_rows_are_imported_with_their_notional_and_upserted_by_external_id(markets):
    eth, btc = markets
    result = liquidations_import_file(content=csv_text(UNDERWATER, PENALISED, BARE), fmt="csv")

    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    rows = {row.external_id: row for row in Liquidation.objects.select_related("account")}
    assert {row.source for row in rows.values()} == {LiquidationSource.IMPORT}
    assert rows["l-1"].market == eth and rows["l-1"].account.address.lower() == ADDRESS
    assert (rows["l-1"].notional, rows["l-1"].bad_debt) == (D("5600"), D("100"))
    assert rows["l-2"].liquidated_at.isoformat() == "2025-03-01T09:30:00+00:00"
    assert (rows["l-2"].penalty, rows["l-2"].account) == (D("15.75"), None)
    assert (rows["l-3"].market, rows["l-3"].entry_price, rows["l-3"].penalty) == (btc, None, D("0"))
    assert rows["l-3"].notional == D("30000")

    again = liquidations_import_file(content=csv_text(UNDERWATER, PENALISED, BARE).encode(), fmt="csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    changed = liquidations_import_file(content=csv_text(BARE.replace("1234.5", "1300")), fmt="csv")
    assert (changed.created, changed.updated) == (0, 1)
    assert Liquidation.objects.get(external_id="l-3").bad_debt == D("1300")


@pytest.mark.parametrize(
    ("row", "error"),
    [
        (UNDERWATER.replace(",100", ",90"), RowError(2, "bad_debt", "90 disagrees with")),
        (PENALISED.replace("15.75", "60"), RowError(2, "penalty", "is more than the equity left")),
        (BARE.replace("BTC", "DOGE"), RowError(2, "market", "unknown market 'DOGE'")),
        (BARE.replace("-0.5", "0"), RowError(2, "size", "must not be 0")),
        (BARE.replace("2025-03-02T00:00:00Z", "2025-03-02 00:00"), RowError(2, "liquidated_at", "has no time zone")),
        (BARE.replace("2025-03-02", "2999-03-02"), RowError(2, "liquidated_at", "is in the future")),
        (BARE.replace("1234.5", "-1"), RowError(2, "bad_debt", "must not be negative")),
        (BARE.replace("1234.5", ""), RowError(2, "bad_debt", "is required")),
        (UNDERWATER.replace(",300,", ",,").replace("l-1", "l-9"), RowError(2, "collateral", "is required when")),
        (UNDERWATER.replace("l-1", "l-2"), RowError(2, "external_id", "duplicate of row 1")),
    ],
)
def test_a_bad_row_is_named_and_nothing_is_written(markets, row, error):
    liquidations_import_file(content=csv_text(BARE), fmt="csv")
    before = list(Liquidation.objects.values_list("external_id", "bad_debt", "updated_at"))
    good_first = PENALISED if "duplicate" in error.reason else UNDERWATER.replace("l-1", "l-0")

    with pytest.raises(ImportRejected) as rejected:
        liquidations_import_file(content=csv_text(good_first, row), fmt="csv")

    assert len(rejected.value.errors) == 1
    found = rejected.value.errors[0]
    assert (found.row, found.field) == (error.row, error.field)
    assert error.reason in found.reason
    assert list(Liquidation.objects.values_list("external_id", "bad_debt", "updated_at")) == before


def test_the_command_reports_row_and_field_and_imports_nothing(markets, tmp_path: Path, capsys):
    path = tmp_path / "history.csv"
    path.write_text(csv_text(UNDERWATER, BARE.replace("60000", "abc")))

    with pytest.raises(CommandError, match="rejected, 1 error"):
        call_command("import_liquidations", str(path), "--no-progress")

    assert "row 2, price: 'abc' is not a number" in capsys.readouterr().err
    assert not Liquidation.objects.exists()
    path.write_text(csv_text(UNDERWATER, BARE))
    call_command("import_liquidations", str(path), "--no-progress")
    assert Liquidation.objects.count() == 2


@pytest.fixture
def importer(db, client):
    user = get_user_model().objects.create_user("importer", password="pw")
    role_assign(user=user, roles=[Role.RISK_STEWARD])
    client.force_login(user)
    return client


def test_the_upload_page_imports_liquidation_history_or_lists_its_errors(markets, importer):
    bad = SimpleUploadedFile("history.csv", csv_text(UNDERWATER, BARE.replace("BTC", "DOGE")).encode())
    refused = importer.post(reverse("riskgov:import"), {"kind": "liquidations", "file": bad})
    assert refused.status_code == 400
    body = refused.content.decode()
    assert "history.csv was rejected" in body and "unknown market &#x27;DOGE&#x27;" in body
    assert not Liquidation.objects.exists()

    good = SimpleUploadedFile("history.json", json.dumps([{"external_id": "j-1", "market": "ETH", "size": "-1",
        "price": "3000", "liquidated_at": "2025-03-01T00:00:00Z", "bad_debt": "12.5"}]).encode())  # fmt: skip
    imported = importer.post(reverse("riskgov:import"), {"kind": "liquidations", "file": good})
    assert imported.status_code == 200
    assert Liquidation.objects.get().bad_debt == D("12.5")


def test_a_large_liquidation_file_is_imported_by_a_job(markets, importer, settings, django_capture_on_commit_callbacks):
    settings.RISKGOV_IMPORT_INLINE_MAX_BYTES = 10
    upload = SimpleUploadedFile("history.csv", csv_text(UNDERWATER, PENALISED, BARE).encode())
    with django_capture_on_commit_callbacks(execute=True):
        response = importer.post(reverse("riskgov:import"), {"kind": "liquidations", "file": upload})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and job.kind == "liquidations"

    assert import_job_run(job_id=job.pk) == ImportJobStatus.SUCCEEDED  # what the worker's task calls
    job.refresh_from_db()
    assert (job.created, job.rows_done) == (3, 3)
    assert Liquidation.objects.count() == 3

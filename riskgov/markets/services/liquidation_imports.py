"""Importing realised liquidation history from CSV or JSON files (source ``import``).

Same rules as the positions and prices imports (`imports.py`): every row is validated, a file with any
bad row changes nothing (one transaction, rolled back), errors name the row and the field, rows are
upserted by `external_id` and only rows that differ from the stored ones are written.

Columns: external_id, market, liquidated_at (ISO-8601 with a zone), size (signed base units), price
(execution price, quote per base unit), bad_debt (quote units, ≥ 0) are required; account,
entry_price, collateral (both or neither), penalty (default 0), liquidator and tx_hash are optional.
When entry_price and collateral are given, the row must agree with itself: bad_debt equals
max(0, −(collateral + size · (price − entry_price))) and penalty is at most the equity left, both to
within BAD_DEBT_TOLERANCE (quote units) or a billionth of the notional, whichever is larger.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from riskgov.markets.models import Liquidation, LiquidationSource, liquidation_notional
from riskgov.markets.services.imports import (
    LOOKUP_BATCH,
    MAX_POSITION_AMOUNT,
    WRITE_BATCH,
    Content,
    ImportResult,
    Progress,
    _accounts_ensure,
    _address_parser,
    _amount,
    _bounded_text,
    _chunks,
    _Counts,
    _ErrorLog,
    _FieldError,
    _market_parser,
    _markets_by_symbol,
    _parse_fields,
    _position_collateral,
    _position_size,
    _positive_amount,
    _report,
    _rows_total,
    _timestamp,
    import_rows_count,
    import_rows_read,
)

LIQUIDATIONS_KIND = "liquidations"
LIQUIDATION_COLUMNS = ("external_id", "market", "account", "liquidated_at", "size", "entry_price", "collateral",
                       "price", "penalty", "bad_debt", "liquidator", "tx_hash")  # fmt: skip
LIQUIDATION_REQUIRED = ("external_id", "market", "liquidated_at", "size", "price", "bad_debt")
BAD_DEBT_TOLERANCE = Decimal("0.01")  # quote units: a cent, for histories rounded to cents
RELATIVE_TOLERANCE = Decimal("1e-9")  # of the notional
_COMPARED = ("market_id", "account_id", "liquidated_at", "size", "entry_price", "collateral", "price", "notional",
             "penalty", "bad_debt", "liquidator", "tx_hash")  # fmt: skip


def _non_negative(value: Any) -> Decimal:
    number = _amount(value)
    if number < 0:
        raise _FieldError("must not be negative")
    return number


def _liquidated_at(value: Any) -> datetime:
    moment = _timestamp(value, naive_is_utc=False)
    if moment > timezone.now():
        raise _FieldError(f"{moment.isoformat()} is in the future")
    return moment


def _tx_hash(value: Any) -> str:
    text = _bounded_text(66)(value)
    if text and not (text.startswith("0x") and all(c in "0123456789abcdefABCDEF" for c in text[2:])):
        raise _FieldError(f"{text[:20]!r} is not a transaction hash (0x + hex digits)")
    return text.lower()


def _parsers(markets: dict[str, int]) -> dict[str, Callable[[Any], Any]]:
    return {
        "external_id": _bounded_text(128),
        "market": _market_parser(markets),
        "account": _address_parser(),
        "liquidated_at": _liquidated_at,
        "size": _position_size,
        "entry_price": _positive_amount,
        "collateral": _position_collateral,
        "price": _positive_amount,
        "penalty": _non_negative,
        "bad_debt": _non_negative,
        "liquidator": _address_parser(),
        "tx_hash": _tx_hash,
    }


def _row_consistent(clean: dict[str, Any], number: int, errors: _ErrorLog) -> bool:
    """Bounds, and bad debt and penalty against the position's equity at the execution price when known."""
    notional = liquidation_notional(clean["size"], clean["price"])
    if notional >= MAX_POSITION_AMOUNT:
        errors.add(number, "size", f"notional (|size| × price) must be below {MAX_POSITION_AMOUNT:,.0f}")
        return False
    has_entry, has_collateral = "entry_price" in clean, "collateral" in clean
    if has_entry != has_collateral:
        missing = "collateral" if has_entry else "entry_price"
        errors.add(number, missing, "is required when entry_price or collateral is given (both or neither)")
        return False
    if not has_entry:
        return True
    equity = clean["collateral"] + clean["size"] * (clean["price"] - clean["entry_price"])
    tolerance = max(BAD_DEBT_TOLERANCE, RELATIVE_TOLERANCE * notional)
    expected = max(Decimal(0), -equity)
    ok = True
    if abs(clean["bad_debt"] - expected) > tolerance:
        errors.add(
            number,
            "bad_debt",
            f"{clean['bad_debt']} disagrees with max(0, −(collateral + size × (price − entry_price))) = "
            f"{expected.normalize():f} (tolerance {tolerance.normalize():f})",
        )
        ok = False
    if clean.get("penalty", Decimal(0)) > max(Decimal(0), equity) + tolerance:
        errors.add(number, "penalty", f"is more than the equity left at the price ({max(Decimal(0), equity):f})")
        ok = False
    return ok


def liquidations_import(
    *, rows: Iterable[Mapping[str, Any]], progress: Progress | None = None, total: int | None = None
) -> ImportResult:
    """Validate every row and upsert imported liquidations by `external_id` in batches, in one transaction.

    Sizes are signed base units, prices and money quote units. Accounts are created for new addresses.
    Raises ImportRejected naming each bad row and field; nothing is written then.
    """
    total = _rows_total(rows, total)
    parsers = _parsers(_markets_by_symbol())
    errors = _ErrorLog()
    first_seen: dict[str, int] = {}
    batch: list[dict[str, Any]] = []
    counts = _Counts()
    with transaction.atomic():
        for number, raw in enumerate(rows, start=1):
            _report(progress, "validate", number, total)
            if not raw:
                continue
            clean = _parse_fields(raw, number, parsers, LIQUIDATION_REQUIRED, errors)
            if clean is None or not _row_consistent(clean, number, errors):
                continue
            if clean["external_id"] in first_seen:
                errors.add(number, "external_id", f"duplicate of row {first_seen[clean['external_id']]}")
                continue
            first_seen[clean["external_id"]] = number
            if errors.total:
                continue  # the file is refused: validate the rest, write nothing more
            batch.append(clean)
            if len(batch) >= WRITE_BATCH:
                _liquidations_write(batch, counts=counts, progress=progress, total=total)
                batch = []
        errors.raise_if_any()  # inside the transaction: what earlier batches wrote is rolled back
        _liquidations_write(batch, counts=counts, progress=progress, total=total)
    return ImportResult(LIQUIDATIONS_KIND, counts.created, counts.updated, counts.unchanged)


def _liquidations_write(valid: list[dict[str, Any]], *, counts: _Counts, progress: Progress | None, total: int) -> None:
    if not valid:
        return
    addresses = {row["account"] for row in valid if row.get("account")}
    account_ids = _accounts_ensure(addresses) if addresses else {}
    existing: dict[str, tuple[Any, ...]] = {}
    for lookup in _chunks([row["external_id"] for row in valid], LOOKUP_BATCH):
        found = Liquidation.objects.filter(source=LiquidationSource.IMPORT, external_id__in=lookup)
        for external_id, *values in found.values_list("external_id", *_COMPARED):
            existing[external_id] = tuple(values)
    wanted: list[Liquidation] = []
    created = updated = 0
    for row in valid:
        values = (
            row["market"],
            account_ids.get(row.get("account", "")),
            row["liquidated_at"],
            row["size"],
            row.get("entry_price"),
            row.get("collateral"),
            row["price"],
            liquidation_notional(row["size"], row["price"]),
            row.get("penalty", Decimal(0)),
            row["bad_debt"],
            row.get("liquidator", ""),
            row.get("tx_hash", ""),
        )  # _COMPARED order
        stored = existing.get(row["external_id"])
        if stored == values:
            continue
        created += stored is None
        updated += stored is not None
        wanted.append(
            Liquidation(
                source=LiquidationSource.IMPORT,
                external_id=row["external_id"],
                **dict(zip(_COMPARED, values, strict=True)),
            )
        )
    Liquidation.objects.bulk_create(
        wanted,
        batch_size=WRITE_BATCH,
        update_conflicts=True,
        unique_fields=["source", "external_id"],
        update_fields=[name.removesuffix("_id") for name in _COMPARED] + ["updated_at"],
    )
    counts.add(valid=len(valid), created=created, updated=updated)
    if progress:
        progress("write", counts.created + counts.updated + counts.unchanged, total)


def liquidations_import_file(*, content: Content, fmt: str, progress: Progress | None = None) -> ImportResult:
    """Parse `content` (text, bytes or a binary file) as `fmt` (csv or json) and import it, CSV row by row."""
    total = import_rows_count(content) if progress is not None and fmt == "csv" else None
    rows = import_rows_read(content=content, fmt=fmt, columns=LIQUIDATION_COLUMNS)
    return liquidations_import(rows=rows, progress=progress, total=total)

"""Importing positions and prices from CSV or JSON files.

Every row is validated and a file with any bad row changes nothing: rows are read one by one from the
file (CSV is never held whole in memory), valid rows are upserted in batches of WRITE_BATCH inside one
transaction — positions by `external_id`, prices by (market, source, observed_at) — and the transaction
is rolled back when any row was bad. Only rows that differ from what is stored are written, so importing
the same file twice changes nothing the second time. (A JSON document is parsed whole.)

Row numbers count data rows from 1 and do not count the CSV header line (the n-th object for
JSON). Sizes are signed base units; prices and collateral are quote units.

Accepted amounts are what every supported database stores and compares exactly: at most 15
significant digits (SQLite keeps NUMERIC as a 64-bit REAL, exact to 15 digits), at most 18 decimal
places and below 10^20 (PostgreSQL NUMERIC(38, 18)). A position's notional at entry and its
collateral stay below MAX_POSITION_AMOUNT so that exposure snapshots, which sum them into the same
NUMERIC(38, 18) fields, can always hold the totals.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Sized
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from riskgov.core.models.fields import AMOUNT_DIGITS, AMOUNT_PLACES
from riskgov.core.services.bulk_writes import rows_insert, rows_update
from riskgov.markets.models import Account, Market, Position, PositionStatus, PriceObservation
from riskgov.markets.models.accounts import checksum_address

MAX_ERRORS = 100
ERRORS_IN_MESSAGE = 5  # the exception's message quotes this many errors and counts the rest
WRITE_BATCH = 10_000
LOOKUP_BATCH = 900  # stays under SQLite's bound-parameter limit
PROGRESS_EVERY = 5000
SIGNIFICANT_DIGITS = 15  # a 64-bit REAL (SQLite) round-trips every decimal of up to 15 significant digits
MAX_POSITION_AMOUNT = Decimal("1e15")  # quote units: entry notional |s|·e and collateral, per position
MAX_CELL_CHARS = 1024  # longer than any valid value; the csv module's own limit would raise mid-file
QUOTED_CHARS = 40  # a bad value is quoted in an error up to this many characters
JSON_MAX_DEPTH = 2  # a list of objects whose values are text or numbers
ROW_CONVENTION = "row numbers count data rows from 1; the header line is not counted"

POSITION_COLUMNS = ("external_id", "account", "market", "size", "entry_price", "collateral", "status", "opened_at")
POSITION_REQUIRED = ("external_id", "account", "market", "size", "entry_price", "collateral")
PRICE_COLUMNS = ("market", "price", "observed_at", "source", "round_id")
PRICE_REQUIRED = ("market", "price", "observed_at")

T = TypeVar("T")
# Called with (stage, rows done, rows in the file — 0 when not known): "validate", and "write" as batches land.
Progress = Callable[[str, int, int], None]


class ImportKind(StrEnum):
    POSITIONS = "positions"
    PRICES = "prices"


class ImportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


@dataclass(frozen=True)
class RowError:
    """One problem: `row` is the 1-based data row (None for the file as a whole)."""

    row: int | None
    field: str | None
    reason: str

    def __str__(self) -> str:
        where = "file" if self.row is None else f"row {self.row}"
        return f"{where}, {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"


class ImportRejected(Exception):
    """The file has bad rows; nothing was written. Carries up to MAX_ERRORS errors and the total count."""

    def __init__(self, errors: Sequence[RowError], *, total: int | None = None):
        self.errors = list(errors)[:MAX_ERRORS]
        self.total = max(total or 0, len(errors))
        shown = "; ".join(str(e) for e in self.errors[:ERRORS_IN_MESSAGE])
        more = f" (and {self.total - ERRORS_IN_MESSAGE} more)" if self.total > ERRORS_IN_MESSAGE else ""
        super().__init__(f"{self.total} error(s), nothing imported ({ROW_CONVENTION}): {shown}{more}")


@dataclass(frozen=True)
class ImportResult:
    kind: str
    created: int
    updated: int
    unchanged: int

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged

    def __str__(self) -> str:
        return f"{self.kind}: {self.created} created, {self.updated} updated, {self.unchanged} unchanged"


class _FieldError(ValueError):
    pass


class _ErrorLog:
    def __init__(self) -> None:
        self.errors: list[RowError] = []
        self.total = 0

    def add(self, row: int | None, field: str | None, reason: str) -> None:
        self.total += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(RowError(row, field, reason))

    def raise_if_any(self) -> None:
        if self.total:
            raise ImportRejected(self.errors, total=self.total)


# Reading files -------------------------------------------------------------------------------------------------


def import_format_detect(filename: str) -> ImportFormat:
    """The format from the file's extension (.csv or .json)."""
    suffix = Path(filename).suffix.lower().lstrip(".")
    if suffix not in ImportFormat.__members__.values():
        raise ImportRejected([RowError(None, None, f"cannot tell the format of {filename!r}: use .csv or .json")])
    return ImportFormat(suffix)


Content = bytes | str | IO[bytes]


def _text_stream(content: Content) -> IO[str]:
    """`content` as text read lazily: a binary file (an upload, an open file) is decoded as it is read."""
    if isinstance(content, str):
        return io.StringIO(content)
    binary = io.BytesIO(content) if isinstance(content, bytes) else content
    return io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")


def _not_utf8(error: UnicodeDecodeError) -> ImportRejected:
    return ImportRejected([RowError(None, None, f"the file is not UTF-8 text ({error.reason})")])


def import_rows_read(*, content: Content, fmt: str, columns: Sequence[str]) -> Iterator[dict[str, Any]]:
    """Parse CSV (header line + rows) or JSON (a list of objects) into one dict per data row, lazily for CSV.

    The header (or the whole JSON document) is checked before this returns; a row the CSV reader cannot read
    raises while iterating. Unknown columns are refused so a misspelt column cannot be silently ignored.
    Raises ImportRejected.
    """
    stream = _text_stream(content)
    try:
        if fmt == ImportFormat.CSV:
            return _csv_rows(stream, columns)
        if fmt == ImportFormat.JSON:
            return iter(_json_rows(stream.read(), columns))
    except UnicodeDecodeError as error:
        raise _not_utf8(error) from error
    raise ImportRejected([RowError(None, None, f"unknown format {fmt!r}: use csv or json")])


class _LineTracker:
    """The lines of a text stream, remembering the last one read (to name the cell the CSV reader choked on)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.last = ""

    def __iter__(self) -> _LineTracker:
        return self

    def __next__(self) -> str:
        try:
            self.last = next(self.stream)
        except UnicodeDecodeError as error:
            raise _not_utf8(error) from error
        return self.last


def _quoted(value: object) -> str:
    """repr of `value`, shortened so that a huge cell cannot flood an error message."""
    text = repr(value)
    return text if len(text) <= QUOTED_CHARS else f"{text[: QUOTED_CHARS - 1]}… ({len(str(value)):,} characters)"


def _csv_rows(stream: IO[str], columns: Sequence[str]) -> Iterator[dict[str, Any]]:
    lines = _LineTracker(stream)
    reader = csv.reader(lines)
    try:
        header = [name.strip().lower() for name in next(reader, [])]
    except csv.Error as error:
        raise ImportRejected([RowError(None, None, f"the header line cannot be read: {error}")]) from error
    if not any(header):
        raise ImportRejected([RowError(None, None, "the file is empty: expected a header line")])
    unknown = [name for name in header if name not in columns]
    duplicated = sorted({name for name in header if header.count(name) > 1})
    problems = [RowError(None, name or "(blank)", "unknown column") for name in unknown]
    problems += [RowError(None, name, "column appears more than once") for name in duplicated]
    if problems:
        raise ImportRejected(problems)
    return _csv_data_rows(reader, lines, header)


def _csv_data_rows(reader: Any, lines: _LineTracker, header: list[str]) -> Iterator[dict[str, Any]]:
    row = 0
    while True:
        try:
            cells = next(reader, None)
        except csv.Error as error:  # e.g. a cell over the csv module's field limit: the rest cannot be read
            raise ImportRejected([_csv_unreadable_row(lines.last, row + 1, header, error)]) from error
        if cells is None:
            return
        row += 1
        if not any(cell.strip() for cell in cells):
            yield {}  # a blank line keeps its number, as in a spreadsheet, and is then skipped
            continue
        if len(cells) > len(header):
            yield {"__error__": f"has {len(cells)} cells but the header has {len(header)} columns"}
            continue
        yield dict(zip(header, cells, strict=False))


def _csv_unreadable_row(line: str, row: int, header: Sequence[str], error: csv.Error) -> RowError:
    """The row the csv module stopped at, naming the over-long cell when a plain split of its line finds it."""
    cells = line.split(",")
    long_cell = next((i for i, cell in enumerate(cells) if len(cell) > MAX_CELL_CHARS), None)
    field = header[long_cell] if long_cell is not None and long_cell < len(header) else None
    if "field larger than field limit" in str(error):
        return RowError(row, field, f"a cell is longer than {csv.field_size_limit():,} characters")
    return RowError(row, field, f"cannot be read as CSV ({error})")


_JSON_TOKEN = re.compile(r'("(?:[^"\\]|\\.)*")(\s*:)?|[\[\]{}]')  # a string (a key when ":" follows) or a bracket


def _json_rows(text: str, columns: Sequence[str]) -> list[dict[str, Any]]:
    try:
        # Integers as Decimal: int() refuses strings over 4,300 digits; the amount checks give the reason.
        data = json.loads(text, parse_float=Decimal, parse_int=Decimal)
    except json.JSONDecodeError as error:
        raise ImportRejected(
            [RowError(None, None, f"invalid JSON at line {error.lineno} column {error.colno}: {error.msg}")]
        ) from error
    except RecursionError as error:
        raise ImportRejected([_json_too_deep(text)]) from error
    if not isinstance(data, list):
        raise ImportRejected([RowError(None, None, "expected a JSON list of objects")])
    rows: list[dict[str, Any]] = []
    for item in data:
        if not isinstance(item, dict):
            rows.append({"__error__": "is not a JSON object"})
            continue
        unknown = [key for key in item if key not in columns]
        if not item:
            rows.append({"__error__": "is an empty object"})
            continue
        rows.append({"__error__": f"unknown key {_quoted(unknown[0])}"} if unknown else item)
    return rows


def _json_too_deep(text: str) -> RowError:
    """Where nesting first goes below a row's values (the parser gave up on the whole file)."""
    depth, row, key = 0, 0, None
    for token in _JSON_TOKEN.finditer(text):
        lexeme = token.group()
        if lexeme in "[{":
            depth += 1
            row += depth == JSON_MAX_DEPTH  # a row object opens
            if depth > JSON_MAX_DEPTH:
                return RowError(row or None, key, "is nested too deeply: a value must be text or a number")
        elif lexeme in "]}":
            depth -= 1
        elif token.group(2) and depth == JSON_MAX_DEPTH:
            key = token.group(1)[1:-1]
    return RowError(None, None, "the JSON is nested too deeply")


# Field parsers: each returns the clean value or raises _FieldError with the reason ------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise _FieldError("must be text")
    text = str(value).strip()
    control = next((char for char in text if unicodedata.category(char) == "Cc"), None)
    if control is not None:  # PostgreSQL refuses NUL in text; SQLite would store it
        raise _FieldError(f"contains a control character (U+{ord(control):04X})")
    return text


def _amount(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise _FieldError("must be a number")
    try:
        number = Decimal(value.strip().replace("_", "") if isinstance(value, str) else value)
    except InvalidOperation:
        raise _FieldError(f"{_quoted(value)} is not a number") from None
    if not number.is_finite():
        raise _FieldError("must be a finite number")
    if number != 0 and number.adjusted() >= AMOUNT_DIGITS - AMOUNT_PLACES:
        raise _FieldError(f"is too large (at most {AMOUNT_DIGITS - AMOUNT_PLACES} digits before the point)")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -AMOUNT_PLACES and _decimal_places(number) > AMOUNT_PLACES:
        raise _FieldError(f"has more than {AMOUNT_PLACES} decimal places")
    if _significant_digits(number) > SIGNIFICANT_DIGITS:
        raise _FieldError(
            f"has more than {SIGNIFICANT_DIGITS} significant digits, more than every supported database stores exactly"
        )
    return number


def _significant_digits(number: Decimal) -> int:
    """Digits from the first to the last non-zero one (1.50 → 2, 1200 → 2), exact whatever the context."""
    return len("".join(map(str, number.as_tuple().digits)).strip("0"))


def _decimal_places(number: Decimal) -> int:
    """Significant decimal places (trailing zeros do not count), exact whatever the context precision."""
    digits = "".join(map(str, number.as_tuple().digits)).rstrip("0")
    exponent = number.as_tuple().exponent
    if not isinstance(exponent, int):
        raise ValueError(f"decimal places of a finite number only, got {number}")
    return max(0, -(exponent + (len(number.as_tuple().digits) - len(digits))))


def _timestamp(value: Any, *, naive_is_utc: bool) -> datetime:
    text = _text(value)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _FieldError(f"{_quoted(text)} is not an ISO-8601 timestamp (e.g. 2025-01-31T12:00:00Z)") from None
    if moment.tzinfo is None:
        if not naive_is_utc:
            raise _FieldError(f"{_quoted(text)} has no time zone: add Z or an offset such as +00:00")
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _parse_fields(
    raw: Mapping[str, Any],
    number: int,
    parsers: Mapping[str, Callable[[Any], Any]],
    required: Sequence[str],
    errors: _ErrorLog,
) -> dict[str, Any] | None:
    """Run each field's parser; log every failing field of the row; None when the row is bad."""
    if "__error__" in raw:
        errors.add(number, None, raw["__error__"])
        return None
    clean: dict[str, Any] = {}
    ok = True
    for name, parse in parsers.items():
        value = raw.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if name in required:
                errors.add(number, name, "is required")
                ok = False
            continue
        try:
            clean[name] = parse(value)
        except _FieldError as error:
            errors.add(number, name, str(error))
            ok = False
    return clean if ok else None


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _report(progress: Progress | None, stage: str, done: int, total: int) -> None:
    if progress is not None and (done % PROGRESS_EVERY == 0 or done == total):
        progress(stage, done, total)


def _markets_by_symbol() -> dict[str, int]:
    return {symbol.upper(): pk for pk, symbol in Market.objects.values_list("pk", "symbol")}


# Positions -----------------------------------------------------------------------------------------------------


def _market_parser(markets: dict[str, int]) -> Callable[[Any], int]:
    """Market symbol (any case) → market id."""

    def market(value: Any) -> int:
        text = _text(value)
        if text.upper() not in markets:
            raise _FieldError(f"unknown market {_quoted(text)}")
        return markets[text.upper()]

    return market


def _positive_amount(value: Any) -> Decimal:
    number = _amount(value)
    if number <= 0:
        raise _FieldError("must be greater than 0")
    return number


def _bounded_text(limit: int) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = _text(value)
        if len(text) > limit:
            raise _FieldError(f"is longer than {limit} characters")
        return text

    return parse


def _address_parser() -> Callable[[Any], str]:
    """Ethereum address → checksummed address; each distinct text is checked once per file."""
    addresses: dict[str, str] = {}

    def account(value: Any) -> str:
        text = _text(value)
        if text not in addresses:
            try:
                addresses[text] = checksum_address(text)
            except ValidationError:
                raise _FieldError(
                    f"{_quoted(text)} is not an Ethereum address "
                    "(0x + 40 hex digits; mixed case must be a valid checksum)"
                ) from None
        return addresses[text]

    return account


def _position_size(value: Any) -> Decimal:
    number = _amount(value)
    if number == 0:
        raise _FieldError("must not be 0 (positive for long, negative for short)")
    return number


def _position_collateral(value: Any) -> Decimal:
    number = _amount(value)
    if number < 0:
        raise _FieldError("must not be negative")
    return number


_POSITION_STATUSES = frozenset(PositionStatus.values)


def _position_status(value: Any) -> str:
    text = _text(value).lower()
    if text not in _POSITION_STATUSES:
        raise _FieldError(f"{_quoted(text)} is not one of {', '.join(PositionStatus.values)}")
    return text


def _opened_at(value: Any) -> datetime:
    return _timestamp(value, naive_is_utc=True)


def _position_parsers(markets: dict[str, int]) -> dict[str, Callable[[Any], Any]]:
    return {
        "external_id": _bounded_text(128),
        "account": _address_parser(),
        "market": _market_parser(markets),
        "size": _position_size,
        "entry_price": _positive_amount,
        "collateral": _position_collateral,
        "status": _position_status,
        "opened_at": _opened_at,
    }


_POSITION_COMPARED = ("account_id", "market_id", "size", "entry_price", "collateral", "status", "opened_at")


def _rows_total(rows: Iterable[Any], total: int | None) -> int:
    return total if total is not None else (len(rows) if isinstance(rows, Sized) else 0)


def positions_import(
    *, rows: Iterable[Mapping[str, Any]], progress: Progress | None = None, total: int | None = None
) -> ImportResult:
    """Validate every row and upsert positions by `external_id` in batches, in one transaction.

    Accounts are created for new addresses (checksummed). A missing status means open; a missing
    `opened_at` means now for a new position and leaves a stored one as it is; a timestamp without a
    zone is UTC. Raises ImportRejected, writing nothing. `total` (rows in the file) is for progress only.
    """
    now = timezone.now()
    total = _rows_total(rows, total)
    parsers = _position_parsers(_markets_by_symbol())
    errors = _ErrorLog()
    first_seen: dict[str, int] = {}
    batch: list[dict[str, Any]] = []
    counts = _Counts()
    with transaction.atomic():
        for number, raw in enumerate(rows, start=1):
            _report(progress, "validate", number, total)
            if not raw:
                continue
            clean = _parse_fields(raw, number, parsers, POSITION_REQUIRED, errors)
            if clean is None or not _position_amounts_bounded(clean, number, errors):
                continue
            if clean["external_id"] in first_seen:
                errors.add(number, "external_id", f"duplicate of row {first_seen[clean['external_id']]}")
                continue
            first_seen[clean["external_id"]] = number
            clean.setdefault("status", PositionStatus.OPEN.value)
            clean.setdefault("opened_at", None)  # now for a new position; a stored one keeps its own
            if errors.total:
                continue  # the file is refused: validate the rest, write nothing more
            batch.append(clean)
            if len(batch) >= WRITE_BATCH:
                _positions_write(batch, now=now, counts=counts, progress=progress, total=total)
                batch = []
        errors.raise_if_any()  # inside the transaction: what earlier batches wrote is rolled back
        _positions_write(batch, now=now, counts=counts, progress=progress, total=total)
    return ImportResult(ImportKind.POSITIONS, counts.created, counts.updated, counts.unchanged)


@dataclass
class _Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, *, valid: int, created: int, updated: int) -> None:
        self.created += created
        self.updated += updated
        self.unchanged += valid - created - updated


def _positions_write(
    valid: list[dict[str, Any]], *, now: datetime, counts: _Counts, progress: Progress | None, total: int
) -> None:
    """Upsert one batch of validated position rows (only what differs from the stored rows)."""
    if not valid:
        return
    account_ids = _accounts_ensure({row["account"] for row in valid})
    existing: dict[str, tuple[Any, ...]] = {}
    for lookup in _chunks([row["external_id"] for row in valid], LOOKUP_BATCH):
        for pk, ext, *values in Position.objects.filter(external_id__in=lookup).values_list(
            "pk", "external_id", *_POSITION_COMPARED
        ):
            existing[ext] = (pk, *values)
    to_create: list[tuple[Any, ...]] = []
    to_update: list[tuple[Any, ...]] = []
    for row in valid:
        stored = existing.get(row["external_id"])
        opened_at = row["opened_at"] or (stored[-1] if stored else now)
        values = (
            account_ids[row["account"]],
            row["market"],
            row["size"],
            row["entry_price"],
            row["collateral"],
            row["status"],
            opened_at,
        )  # _POSITION_COMPARED order
        if stored is None:
            to_create.append((row["external_id"], *values, now))
        elif stored[1:] != values:
            to_update.append((stored[0], *values, now))
    _write(
        Position,
        create_fields=["external_id", *_POSITION_COMPARED, "updated_at"],
        to_create=to_create,
        update_fields=[*_POSITION_COMPARED, "updated_at"],
        to_update=to_update,
    )
    counts.add(valid=len(valid), created=len(to_create), updated=len(to_update))
    if progress:
        progress("write", counts.created + counts.updated + counts.unchanged, total)


def _position_amounts_bounded(clean: Mapping[str, Any], number: int, errors: _ErrorLog) -> bool:
    """Entry notional and collateral below MAX_POSITION_AMOUNT, so snapshot totals fit their fields."""
    ok = True
    if abs(clean["size"]) * clean["entry_price"] >= MAX_POSITION_AMOUNT:
        errors.add(number, "size", f"notional at entry (size × entry_price) must be below {MAX_POSITION_AMOUNT:,.0f}")
        ok = False
    if clean["collateral"] >= MAX_POSITION_AMOUNT:
        errors.add(number, "collateral", f"must be below {MAX_POSITION_AMOUNT:,.0f}")
        ok = False
    return ok


def _accounts_ensure(addresses: set[str]) -> dict[str, int]:
    """Ids of the accounts for checksummed `addresses`, creating the missing ones."""
    ordered = sorted(addresses)
    known: dict[str, int] = {}
    for batch in _chunks(ordered, LOOKUP_BATCH):
        known.update(Account.objects.filter(address__in=batch).values_list("address", "pk"))
    missing = [Account(address=a) for a in ordered if a not in known]
    if missing:
        Account.objects.bulk_create(missing, batch_size=WRITE_BATCH)
        for batch in _chunks([a.address for a in missing], LOOKUP_BATCH):
            known.update(Account.objects.filter(address__in=batch).values_list("address", "pk"))
    return known


def _write(
    model: type[Position] | type[PriceObservation],
    *,
    create_fields: Sequence[str],
    to_create: list[tuple[Any, ...]],
    update_fields: Sequence[str],
    to_update: list[tuple[Any, ...]],
) -> None:
    for batch in _chunks(to_create, WRITE_BATCH):
        rows_insert(model, create_fields, batch)
    for batch in _chunks(to_update, WRITE_BATCH):
        rows_update(model, update_fields, batch)


# Prices --------------------------------------------------------------------------------------------------------


def _price_parsers(markets: dict[str, int]) -> dict[str, Callable[[Any], Any]]:
    return {
        "market": _market_parser(markets),
        "price": _positive_amount,
        "observed_at": lambda v: _timestamp(v, naive_is_utc=False),
        "source": _bounded_text(64),
        "round_id": _bounded_text(80),
    }


def _price_key(market_id: int, source: str, observed_at: datetime) -> int:
    """8 bytes standing for (market, source, time) in the duplicate check, so a 1M-row file stays small."""
    digest = hashlib.blake2b(f"{market_id}|{source}|{observed_at.isoformat()}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def prices_import(
    *, rows: Iterable[Mapping[str, Any]], progress: Progress | None = None, total: int | None = None
) -> ImportResult:
    """Validate every row and upsert price observations by (market, source, observed_at) in batches, in one
    transaction.

    `observed_at` must carry a time zone; a missing source is "import". Raises ImportRejected, writing nothing.
    """
    total = _rows_total(rows, total)
    parsers = _price_parsers(_markets_by_symbol())
    errors = _ErrorLog()
    first_seen: dict[int, int] = {}
    batch: dict[tuple[int, str, datetime], dict[str, Any]] = {}
    counts = _Counts()
    with transaction.atomic():
        for number, raw in enumerate(rows, start=1):
            _report(progress, "validate", number, total)
            if not raw:
                continue
            clean = _parse_fields(raw, number, parsers, PRICE_REQUIRED, errors)
            if clean is None:
                continue
            clean["source"] = clean.get("source") or "import"
            clean.setdefault("round_id", "")
            key = (clean["market"], clean["source"], clean["observed_at"])
            seen = _price_key(*key)
            if seen in first_seen:
                errors.add(number, "observed_at", f"duplicate of row {first_seen[seen]} (same market, source and time)")
                continue
            first_seen[seen] = number
            if errors.total:
                continue  # the file is refused: validate the rest, write nothing more
            batch[key] = clean
            if len(batch) >= WRITE_BATCH:
                _prices_write(batch, counts=counts, progress=progress, total=total)
                batch = {}
        errors.raise_if_any()  # inside the transaction: what earlier batches wrote is rolled back
        _prices_write(batch, counts=counts, progress=progress, total=total)
    return ImportResult(ImportKind.PRICES, counts.created, counts.updated, counts.unchanged)


def _prices_write(
    valid: dict[tuple[int, str, datetime], dict[str, Any]], *, counts: _Counts, progress: Progress | None, total: int
) -> None:
    """Upsert one batch of validated price rows (only what differs from the stored rows)."""
    if not valid:
        return
    existing = _stored_prices(valid)
    to_create: list[tuple[Any, ...]] = []
    to_update: list[tuple[Any, ...]] = []
    for (market_id, source, observed_at), row in valid.items():
        stored = existing.get((market_id, source, observed_at))
        if stored is None:
            to_create.append((market_id, source, observed_at, row["price"], row["round_id"]))
        elif (stored[1], stored[2]) != (row["price"], row["round_id"]):
            to_update.append((stored[0], row["price"], row["round_id"]))
    _write(
        PriceObservation,
        create_fields=["market_id", "source", "observed_at", "price", "round_id"],
        to_create=to_create,
        update_fields=["price", "round_id"],
        to_update=to_update,
    )
    counts.add(valid=len(valid), created=len(to_create), updated=len(to_update))
    if progress:
        progress("write", counts.created + counts.updated + counts.unchanged, total)


def _stored_prices(valid: Mapping[tuple[int, str, datetime], Any]) -> dict[tuple[int, str, datetime], tuple[Any, ...]]:
    """Stored (pk, price, round_id) for the keys in `valid`: one range query per (market, source)."""
    groups: dict[tuple[int, str], list[datetime]] = {}
    for market_id, source, moment in valid:
        groups.setdefault((market_id, source), []).append(moment)
    stored: dict[tuple[int, str, datetime], tuple[Any, ...]] = {}
    for (market_id, source), moments in groups.items():
        rows = PriceObservation.objects.filter(
            market_id=market_id, source=source, observed_at__gte=min(moments), observed_at__lte=max(moments)
        ).values_list("pk", "observed_at", "price", "round_id")
        for pk, moment, price, round_id in rows.iterator(chunk_size=WRITE_BATCH):
            stored[(market_id, source, moment.astimezone(UTC))] = (pk, price, round_id)
    return stored


# Entry point for files -----------------------------------------------------------------------------------------


def import_rows_count(content: Content) -> int:
    """Lines after the header (CSV rows, for progress), counted in 1 MiB blocks; the file is rewound after."""
    if isinstance(content, str):
        return max(0, content.count("\n") - 1)
    if isinstance(content, bytes):
        return max(0, content.count(b"\n") - 1)
    lines = 0
    while block := content.read(1 << 20):
        lines += block.count(b"\n")
    content.seek(0)
    return max(0, lines - 1)


def import_file(*, kind: str, content: Content, fmt: str, progress: Progress | None = None) -> ImportResult:
    """Parse `content` (text, bytes or a binary file such as an upload) as `fmt` (csv or json) and import it as
    `kind` (positions or prices), reading CSV row by row."""
    total = import_rows_count(content) if progress is not None and fmt == ImportFormat.CSV else None
    if kind == ImportKind.POSITIONS:
        rows = import_rows_read(content=content, fmt=fmt, columns=POSITION_COLUMNS)
        return positions_import(rows=rows, progress=progress, total=total)
    if kind == ImportKind.PRICES:
        rows = import_rows_read(content=content, fmt=fmt, columns=PRICE_COLUMNS)
        return prices_import(rows=rows, progress=progress, total=total)
    raise ImportRejected([RowError(None, None, f"unknown import kind {kind!r}: use positions or prices")])


def iter_errors(error: ImportRejected) -> Iterable[str]:
    """Human lines for an ImportRejected: the convention first, then one line per error."""
    yield f"{error.total} error(s); nothing was imported ({ROW_CONVENTION}):"
    for item in error.errors:
        yield f"  {item}"
    if error.total > len(error.errors):
        yield f"  … and {error.total - len(error.errors)} more not shown"

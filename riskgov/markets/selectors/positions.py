"""The open-positions list: filters and sorts as index range scans, merged across markets and sides.

At a market's mark price `p` and maintenance margin rate `mmr`, leverage, distance to liquidation
and liquidatability of a position are monotone in its bankruptcy price `B` within one side:

- long:  leverage p/(p − B) (∞ when B ≥ p), distance 1 − B/((1 − mmr)·p) (∞ when B ≤ 0);
- short: leverage p/(B − p) (∞ when B ≤ p), distance B/((1 + mmr)·p) − 1.

So every band is a range of `B` on the partial index (market, side, bankruptcy_price), and every
sort is an index order within one (market, side) stream. A page reads at most `page_size + 1`
rows per stream (one UNION ALL query where the database allows it) and merges the streams in
Python on the common sort key. Paging is by keyset cursor: a cursor stores, per stream, the last
row consumed, so any page costs the same as the first one. The list's total is counted up to COUNT_LIMIT matches
(`open_positions_total`): beyond that it is "more than 10,000", as an exact count reads every row.

A cursor holds the stored key exactly: on SQLite, where NUMERIC columns hold 64-bit REALs that Django
reads rounded to 15 digits, the key is read as the REAL itself and compared as a REAL, so a page
never starts before the last row of the previous one.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, F, FloatField, Q, QuerySet, Sum, Value
from django.db.models.functions import Abs, Cast

from riskgov.markets.domain.position_math import INFINITY, PositionRisk, position_risk
from riskgov.markets.models import Account, Market, Position, PositionStatus
from riskgov.markets.selectors.markets import MarketState, market_states

PAGE_SIZE = 50
LONG, SHORT = 1, -1

# (lower, upper) leverage, lower inclusive, upper exclusive; None = unbounded. Positions with
# equity ≤ 0 (infinite leverage) are only in "underwater".
LEVERAGE_BANDS: dict[str, tuple[str, tuple[int, int | None] | None]] = {
    "0-2": ("0–2x", (0, 2)),
    "2-5": ("2–5x", (2, 5)),
    "5-10": ("5–10x", (5, 10)),
    "10-20": ("10–20x", (10, 20)),
    "20-50": ("20–50x", (20, 50)),
    "50+": ("Over 50x", (50, None)),
    "underwater": ("Underwater (equity ≤ 0)", None),
}
# Distance to liquidation strictly below the fraction; "liquidatable" is distance < 0, i.e.
# equity < mmr × notional. Within-x bands include liquidatable positions, like snapshots do.
DISTANCE_BANDS: dict[str, tuple[str, Decimal]] = {
    "liquidatable": ("Liquidatable now", Decimal("0")),
    "5": ("Within 5 %", Decimal("0.05")),
    "10": ("Within 10 %", Decimal("0.10")),
    "20": ("Within 20 %", Decimal("0.20")),
}
SORTS: dict[str, str] = {
    "liquidation": "Nearest liquidation",
    "leverage": "Highest leverage",
    "notional": "Largest notional",
    "collateral": "Largest collateral",
    "newest": "Newest",
}
DEFAULT_SORT = "liquidation"
# Each sort's own order ("asc" reads nearest liquidation first; the others read largest or newest first);
# the list can be read in the opposite order too.
ASCENDING, DESCENDING = "asc", "desc"
NATURAL_ORDER: dict[str, str] = {
    "liquidation": ASCENDING,
    "leverage": DESCENDING,
    "notional": DESCENDING,
    "collateral": DESCENDING,
    "newest": DESCENDING,
}
ADDRESS_LENGTH = 42  # "0x" and 40 hex digits
COUNT_LIMIT = 10_000  # the list counts matches up to this many, then says "more than"
ACCOUNT_MATCH_LIMIT = 200  # accounts an address prefix or label may select; more asks for a longer search

_FIELDS = (
    "id",
    "external_id",
    "account__address",
    "market_id",
    "side",
    "size",
    "entry_price",
    "collateral",
    "bankruptcy_price",
    "opened_at",
)
_COLUMN_INDEX = {name: i for i, name in enumerate(_FIELDS)}
_CURSOR_KEY = "cursor_key"  # the sort column as stored, read after _FIELDS
_DECIMAL_COLUMNS = frozenset({"bankruptcy_price", "size", "collateral"})


def _key_is_real(column: str) -> bool:
    """Whether the database holds `column` as a binary REAL (SQLite), so the cursor keeps that float."""
    return connection.vendor == "sqlite" and column in _DECIMAL_COLUMNS


def _stored_key(column: str) -> Cast | F:
    return Cast(column, FloatField()) if _key_is_real(column) else F(column)


def _key_param(column: str, value: Any) -> Any:
    """The cursor value as a query parameter the database compares without rounding."""
    return Value(value, output_field=FloatField()) if _key_is_real(column) else value


class InvalidCursor(ValueError):
    """A page cursor that does not decode to this list's streams."""


@dataclass(frozen=True)
class PositionFilters:
    market: str = ""  # symbol, "" for all markets
    side: int | None = None  # LONG, SHORT or None for both
    leverage_band: str = ""
    distance_band: str = ""
    sort: str = DEFAULT_SORT
    order: str = ""  # ASCENDING or DESCENDING; "" is the sort's own order
    account_ids: tuple[int, ...] | None = None  # None for every account; () matches none

    def __post_init__(self) -> None:
        if self.leverage_band and self.leverage_band not in LEVERAGE_BANDS:
            raise ValueError(f"unknown leverage band {self.leverage_band!r}")
        if self.distance_band and self.distance_band not in DISTANCE_BANDS:
            raise ValueError(f"unknown distance band {self.distance_band!r}")
        if self.sort not in SORTS:
            raise ValueError(f"unknown sort {self.sort!r}")
        if self.order not in ("", ASCENDING, DESCENDING):
            raise ValueError(f"unknown order {self.order!r}")

    @property
    def direction(self) -> str:
        return self.order or NATURAL_ORDER[self.sort]

    @property
    def reversed(self) -> bool:
        """Whether the list reads opposite to its sort's own order."""
        return self.direction != NATURAL_ORDER[self.sort]


@dataclass(frozen=True)
class PositionRow:
    id: int
    external_id: str
    account_address: str
    market: Market
    side: int
    size: Decimal
    entry_price: Decimal
    collateral: Decimal
    opened_at: datetime
    mark_price: Decimal
    mmr: Decimal
    risk: PositionRisk

    @property
    def is_long(self) -> bool:
        return self.side == LONG

    @property
    def quantity(self) -> Decimal:
        return abs(self.size)

    @property
    def unrealised_pnl(self) -> Decimal:
        """s·(p − e) in quote units at the mark price."""
        return self.size * (self.mark_price - self.entry_price)


@dataclass
class PositionPage:
    rows: list[PositionRow]
    next_cursor: str | None
    prev_cursor: str | None
    unpriced_markets: list[Market] = field(default_factory=list)


@dataclass(frozen=True)
class _Range:
    """An interval of bankruptcy prices; None bounds are open-ended."""

    low: Decimal | None = None
    low_inclusive: bool = True
    high: Decimal | None = None
    high_inclusive: bool = True

    def intersect(self, other: _Range) -> _Range:
        low, low_inc = self.low, self.low_inclusive
        if other.low is not None and (low is None or other.low > low or (other.low == low and not other.low_inclusive)):
            low, low_inc = other.low, other.low_inclusive
        high, high_inc = self.high, self.high_inclusive
        if other.high is not None and (
            high is None or other.high < high or (other.high == high and not other.high_inclusive)
        ):
            high, high_inc = other.high, other.high_inclusive
        return _Range(low, low_inc, high, high_inc)

    @property
    def is_empty(self) -> bool:
        if self.low is None or self.high is None:
            return False
        return self.low > self.high or (self.low == self.high and not (self.low_inclusive and self.high_inclusive))

    def as_q(self) -> Q:
        q = Q()
        if self.low is not None:
            q &= Q(bankruptcy_price__gte=self.low) if self.low_inclusive else Q(bankruptcy_price__gt=self.low)
        if self.high is not None:
            q &= Q(bankruptcy_price__lte=self.high) if self.high_inclusive else Q(bankruptcy_price__lt=self.high)
        return q


def _leverage_range(band: str, side: int, price: Decimal) -> _Range:
    """Bankruptcy prices whose leverage at `price` falls in `band` (see the module docstring)."""
    bounds = LEVERAGE_BANDS[band][1]
    if bounds is None:  # equity ≤ 0
        return _Range(low=price) if side == LONG else _Range(high=price)
    low, high = bounds
    with localcontext() as ctx:
        ctx.prec = 60
        if side == LONG:  # leverage rises with B below p
            result = _Range(high=price, high_inclusive=False)
            if low > 0:
                result = result.intersect(_Range(low=price * (1 - Decimal(1) / low)))
            if high is not None:
                result = result.intersect(_Range(high=price * (1 - Decimal(1) / high), high_inclusive=False))
            return result
        result = _Range(low=price, low_inclusive=False)  # short: leverage falls with B above p
        if low > 0:
            result = result.intersect(_Range(high=price * (1 + Decimal(1) / low)))
        if high is not None:
            result = result.intersect(_Range(low=price * (1 + Decimal(1) / high), low_inclusive=False))
        return result


def _distance_range(band: str, side: int, price: Decimal, mmr: Decimal) -> _Range:
    """Bankruptcy prices whose distance to liquidation at `price` is below the band's fraction."""
    limit = DISTANCE_BANDS[band][1]
    with localcontext() as ctx:
        ctx.prec = 60
        if side == LONG:
            return _Range(low=(1 - limit) * (1 - mmr) * price, low_inclusive=False)
        return _Range(high=(1 + limit) * (1 + mmr) * price, high_inclusive=False)


@dataclass(frozen=True)
class _Stream:
    """The open positions of one market and side, in the index order of the chosen sort."""

    index: int
    state: MarketState
    side: int
    column: str
    descending: bool
    bounds: _Range
    account_ids: tuple[int, ...] | None = None

    @property
    def key(self) -> str:
        return f"{self.state.market.pk}:{self.side}"

    def queryset(self, after: tuple[Any, int] | None, *, reverse: bool, inclusive: bool, limit: int) -> QuerySet:
        rows = Position.objects.filter(self.q())
        descending = self.descending != reverse
        if after is not None:
            value, pk = after
            column, value = self.column, _key_param(self.column, value)
            # `col >= v` first so the index range is used; the id breaks ties.
            if descending:
                id_q = Q(id__lte=pk) if inclusive else Q(id__lt=pk)
                rows = rows.filter(Q(**{f"{column}__lte": value}), Q(**{f"{column}__lt": value}) | id_q)
            else:
                id_q = Q(id__gte=pk) if inclusive else Q(id__gt=pk)
                rows = rows.filter(Q(**{f"{column}__gte": value}), Q(**{f"{column}__gt": value}) | id_q)
        order = ("-" if descending else "") + self.column, ("-" if descending else "") + "id"
        rows = rows.annotate(**{_CURSOR_KEY: _stored_key(self.column)})
        return rows.order_by(*order).values_list(*_FIELDS, _CURSOR_KEY)[:limit]

    def q(self) -> Q:
        """This stream's open positions as one condition."""
        q = self.bounds.as_q() & Q(status=PositionStatus.OPEN, market_id=self.state.market.pk, side=self.side)
        if self.account_ids is not None:
            q &= Q(account_id__in=self.account_ids)
        return q

    def position(self, row: tuple) -> tuple[Any, int]:
        return row[len(_FIELDS)], row[0]


# Within one stream the sort key is monotone in the stream's index order, so merging is exact.
def _sort_key(sort: str, price: Decimal, mmr: Decimal) -> Callable[[tuple], Decimal | float]:
    bankruptcy = _COLUMN_INDEX["bankruptcy_price"]
    if sort == "liquidation":

        def distance(row: tuple) -> Decimal:
            b = row[bankruptcy]
            if row[_COLUMN_INDEX["side"]] == LONG:
                return 1 - b / ((1 - mmr) * price) if b > 0 else INFINITY
            return b / ((1 + mmr) * price) - 1

        return distance
    if sort == "leverage":

        def negative_leverage(row: tuple) -> Decimal:
            b = row[bankruptcy]
            cushion = price - b if row[_COLUMN_INDEX["side"]] == LONG else b - price
            return -(price / cushion) if cushion > 0 else -INFINITY

        return negative_leverage
    if sort == "notional":
        return lambda row: -abs(row[_COLUMN_INDEX["size"]]) * price
    if sort == "collateral":
        return lambda row: -row[_COLUMN_INDEX["collateral"]]
    return lambda row: -row[_COLUMN_INDEX["opened_at"]].timestamp()


_SORT_COLUMNS: dict[str, Callable[[int], tuple[str, bool]]] = {
    # column and whether the stream reads it descending, per side
    "liquidation": lambda side: ("bankruptcy_price", side == LONG),
    "leverage": lambda side: ("bankruptcy_price", side == LONG),
    "notional": lambda side: ("size", side == LONG),
    "collateral": lambda side: ("collateral", True),
    "newest": lambda side: ("opened_at", True),
}


def _streams(filters: PositionFilters, states: list[MarketState]) -> list[_Stream]:
    if filters.account_ids == ():
        return []
    sides = [filters.side] if filters.side in (LONG, SHORT) else [LONG, SHORT]
    streams: list[_Stream] = []
    for state in states:
        if filters.market and state.market.symbol != filters.market:
            continue
        if state.mark_price is None or state.parameters is None:
            continue
        for side in sides:
            bounds = _Range()
            if filters.leverage_band:
                bounds = bounds.intersect(_leverage_range(filters.leverage_band, side, state.mark_price))
            if filters.distance_band:
                bounds = bounds.intersect(
                    _distance_range(filters.distance_band, side, state.mark_price, state.parameters.mmr)
                )
            if bounds.is_empty:
                continue
            column, descending = _SORT_COLUMNS[filters.sort](side)
            descending = descending != filters.reversed
            streams.append(_Stream(len(streams), state, side, column, descending, bounds, filters.account_ids))
    return streams


def _key_text(value: Any) -> str:
    """A key as text that parses back to the same value (repr round-trips a float exactly)."""
    if isinstance(value, datetime):
        return value.isoformat()
    return repr(value) if isinstance(value, float) else str(value)


def _key_parse(column: str, text: str) -> Any:
    if column == "opened_at":
        return datetime.fromisoformat(text)
    return float(text) if _key_is_real(column) else Decimal(text)


def _encode_cursor(direction: str, positions: dict[str, tuple[Any, int]], order: str) -> str:
    payload = {
        "d": direction,
        "o": order,
        "p": {k: [_key_text(v), pk] for k, (v, pk) in positions.items()},
    }
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, streams: list[_Stream], order: str) -> tuple[str, dict[str, tuple[Any, int]]]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        direction = payload["d"]
        if payload["o"] != order:  # a link from the list in another sort or order
            raise ValueError(order)
        by_key = {s.key: s for s in streams}
        positions: dict[str, tuple[Any, int]] = {}
        for key, (value, pk) in payload["p"].items():
            stream = by_key[key]
            positions[key] = (_key_parse(stream.column, value), int(pk))
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError, InvalidOperation, binascii.Error) as exc:
        raise InvalidCursor("The page link does not match these filters.") from exc
    if direction not in ("a", "b"):
        raise InvalidCursor("The page link does not match these filters.")
    return direction, positions


def _fetch(streams: list[_Stream], querysets: list[QuerySet]) -> dict[int, list[tuple]]:
    """Rows per stream index, in one UNION ALL query where the database supports it."""
    rows: dict[int, list[tuple]] = {s.index: [] for s in streams}
    if not querysets:
        return rows
    market_side = {(s.state.market.pk, s.side): s.index for s in streams}
    if connection.features.supports_slicing_ordering_in_compound and len(querysets) > 1:
        fetched: Iterable[tuple] = querysets[0].union(*querysets[1:], all=True)
    else:
        fetched = (row for qs in querysets for row in qs)
    for row in fetched:
        rows[market_side[(row[_COLUMN_INDEX["market_id"]], row[_COLUMN_INDEX["side"]])]].append(row)
    return rows


def _to_row(row: tuple, state: MarketState) -> PositionRow:
    size, entry, collateral = row[5], row[6], row[7]
    price, parameters = state.mark_price, state.parameters
    if price is None or parameters is None:  # `_streams` reads only markets that have both
        raise ValueError(f"{state.market.symbol} has no mark price or no margin parameters")
    mmr = parameters.mmr
    return PositionRow(
        id=row[0],
        external_id=row[1],
        account_address=row[2],
        market=state.market,
        side=row[4],
        size=size,
        entry_price=entry,
        collateral=collateral,
        opened_at=row[9],
        mark_price=price,
        mmr=mmr,
        risk=position_risk(size=size, entry_price=entry, collateral=collateral, price=price, mmr=mmr),
    )


def _merged(streams: list[_Stream], rows: dict[int, list[tuple]], sort: str, *, reverse: bool) -> Iterator[tuple]:
    """(stream index, row) in the list's order (or its reverse), ties broken by stream index."""

    def keyed(stream: _Stream) -> Iterator[tuple[Any, int, tuple]]:
        key = _sort_key(sort, stream.state.mark_price, stream.state.parameters.mmr)  # type: ignore[arg-type,union-attr]
        for row in rows[stream.index]:
            yield key(row), stream.index, row

    for _, index, row in heapq.merge(*(keyed(s) for s in streams), key=lambda t: (t[0], t[1]), reverse=reverse):
        yield index, row


def open_positions_page(
    *, filters: PositionFilters, cursor: str = "", page_size: int = PAGE_SIZE, states: list[MarketState] | None = None
) -> PositionPage:
    """One page of open positions matching `filters`, with risk figures at current marks (Decimal).

    `cursor` comes from a previous page's `next_cursor`/`prev_cursor`; "" is the first page.
    Markets without a mark price or parameters cannot be banded or sorted and are reported in
    `unpriced_markets`. Raises InvalidCursor for a cursor that does not fit the filters.
    """
    states = market_states() if states is None else states
    unpriced = [
        s.market
        for s in states
        if (s.mark_price is None or s.parameters is None) and filters.market in ("", s.market.symbol)
    ]
    streams = _streams(filters, states)
    order = f"{filters.sort}:{filters.direction}"
    direction, start = _decode_cursor(cursor, streams, order) if cursor else ("a", {})
    by_index = {s.index: s for s in streams}

    if direction == "a":
        querysets = [s.queryset(start.get(s.key), reverse=False, inclusive=False, limit=page_size + 1) for s in streams]
        fetched = _fetch(streams, querysets)
        merged = _merged(streams, fetched, filters.sort, reverse=filters.reversed)
        taken = [pair for _, pair in zip(range(page_size), merged, strict=False)]
        has_more = next(merged, None) is not None
        end = dict(start)
        for index, row in taken:
            end[by_index[index].key] = by_index[index].position(row)
        next_cursor = _encode_cursor("a", end, order) if has_more else None
        prev_cursor = _encode_cursor("b", start, order) if start else None
    else:
        # Walk back from the rows consumed before this point: they are the previous page.
        querysets = [
            s.queryset(start[s.key], reverse=True, inclusive=True, limit=page_size + 1)
            for s in streams
            if s.key in start
        ]
        fetched = _fetch([s for s in streams if s.key in start], querysets)
        fetched.update({s.index: [] for s in streams if s.key not in start})
        merged = _merged(streams, fetched, filters.sort, reverse=not filters.reversed)
        taken = [pair for _, pair in zip(range(page_size), merged, strict=False)]
        taken.reverse()
        used: dict[int, int] = {}
        for index, _row in taken:
            used[index] = used.get(index, 0) + 1
        before = dict(start)
        for index, count in used.items():
            stream, remaining = by_index[index], fetched[index][count:]
            if remaining:
                before[stream.key] = stream.position(remaining[0])
            else:
                before.pop(stream.key, None)
        next_cursor = _encode_cursor("a", start, order) if taken else None
        prev_cursor = _encode_cursor("b", before, order) if before else None

    rows = [_to_row(row, by_index[index].state) for index, row in taken]
    return PositionPage(rows=rows, next_cursor=next_cursor, prev_cursor=prev_cursor, unpriced_markets=unpriced)


def nearest_liquidation(
    *, market: Market, limit: int = 25, states: list[MarketState] | None = None
) -> list[PositionRow]:
    """The open positions of `market` closest to liquidation, longs and shorts merged."""
    page = open_positions_page(
        filters=PositionFilters(market=market.symbol, sort="liquidation"), page_size=limit, states=states
    )
    return page.rows


def _matching(filters: PositionFilters, states: list[MarketState] | None) -> QuerySet | None:
    """The open positions matching `filters` in the markets a page can list (priced, with parameters)."""
    states = market_states() if states is None else states
    streams = _streams(filters, states)
    if not streams:
        return None
    condition = Q()
    for stream in streams:
        condition |= stream.q()
    return Position.objects.filter(condition)


def open_positions_count(*, filters: PositionFilters, states: list[MarketState] | None = None) -> int:
    """How many open positions match `filters` (the markets a page can list: priced, with parameters)."""
    matching = _matching(filters, states)
    return 0 if matching is None else matching.count()


@dataclass(frozen=True)
class PositionTotal:
    """How many open positions match, counted up to `limit`: exact when `more` is false, else "more than limit"."""

    count: int
    more: bool
    limit: int


def open_positions_total(
    *, filters: PositionFilters, states: list[MarketState] | None = None, limit: int | None = None
) -> PositionTotal:
    """The list's total, counting at most `limit` + 1 rows: an exact count of every match reads the whole
    table (a parallel sequential scan of 1M rows, about 200 ms on PostgreSQL), a bounded one stops early.
    `limit` defaults to COUNT_LIMIT."""
    limit = COUNT_LIMIT if limit is None else limit
    if limit < 0:
        raise ValueError(f"limit must be at least 0, not {limit}")
    states = market_states() if states is None else states
    streams = _streams(filters, states)
    if not streams:
        found = 0
    elif filters.account_ids is None and connection.features.supports_slicing_ordering_in_compound:
        found = _bounded_stream_count(streams, limit + 1)
    else:  # an account search selects few rows through the account index; SQLite cannot limit UNION parts
        condition = Q()
        for stream in streams:
            condition |= stream.q()
        found = Position.objects.filter(condition).values("id")[: limit + 1].count()
    return PositionTotal(count=min(found, limit), more=found > limit, limit=limit)


def _bounded_stream_count(streams: list[_Stream], most: int) -> int:
    """min(matches, `most`) as one query: each stream is a bounded range of the (market, side, bankruptcy_price)
    index, read index-only, and the outer LIMIT stops the UNION ALL as soon as `most` rows are in (3 ms at 1M
    positions where the same bounded count over the OR of the streams scans the table for up to 50 ms)."""
    parts: list[str] = []
    params: list[Any] = []
    for stream in streams:
        sql, part_params = Position.objects.filter(stream.q()).values("id")[:most].query.sql_with_params()
        parts.append(f"({sql})")
        params.extend(part_params)
    # Only the querysets' own compiled SQL is joined in; every value is a parameter.
    union = " UNION ALL ".join(parts)
    sql = f"SELECT COUNT(*) FROM (SELECT 1 FROM ({union}) AS streams LIMIT %s) AS counted"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, most])
        (found,) = cursor.fetchone()
    return int(found)


@dataclass(frozen=True)
class AccountMatch:
    """Accounts an account search selects: their ids (None: the search was empty), and whether there were more."""

    ids: tuple[int, ...] | None
    truncated: bool = False
    limit: int = 0  # the most accounts a search selects


def accounts_matching(search: str) -> AccountMatch:
    """Accounts whose address starts with `search` (any case) or whose label contains it.

    A full address matches that account only. At most ACCOUNT_MATCH_LIMIT accounts are selected;
    `truncated` says a longer search is needed.
    """
    term = search.strip()
    if not term:
        return AccountMatch(ids=None)
    if len(term) == ADDRESS_LENGTH and term.lower().startswith("0x"):
        accounts = Account.objects.filter(address__iexact=term)
    else:
        accounts = Account.objects.filter(Q(address__istartswith=term) | Q(label__icontains=term))
    ids = list(accounts.order_by("pk").values_list("pk", flat=True)[: ACCOUNT_MATCH_LIMIT + 1])
    return AccountMatch(
        ids=tuple(ids[:ACCOUNT_MATCH_LIMIT]), truncated=len(ids) > ACCOUNT_MATCH_LIMIT, limit=ACCOUNT_MATCH_LIMIT
    )


def liquidatable_live(*, filters: PositionFilters, states: list[MarketState] | None = None) -> tuple[int, Decimal]:
    """Count and notional (quote units at each market's current mark) of the open positions that match
    `filters` and are liquidatable now: the figure the positions list shows, not a snapshot's."""
    states = market_states() if states is None else states
    streams = _streams(replace(filters, distance_band="liquidatable"), states)
    if not streams:
        return 0, Decimal(0)
    condition = Q()
    for stream in streams:
        condition |= stream.q()
    marks = {s.state.market.pk: s.state.mark_price for s in streams}
    count, notional = 0, Decimal(0)
    per_market = Position.objects.filter(condition).values("market_id").annotate(n=Count("id"), q=Sum(Abs("size")))
    with transaction.atomic():
        _serial_plan()
        rows = list(per_market.order_by("market_id"))
    for row in rows:
        count += row["n"]
        notional += Decimal(str(row["q"])) * marks[row["market_id"]]  # type: ignore[operator]
    return count, notional


def _serial_plan() -> None:
    """Plan the rest of this transaction without parallel workers (PostgreSQL): the planner takes a band of one
    market's bankruptcy prices for a hundred thousand rows where it holds a few thousand, and starting the workers
    then costs more than the scan (about 30 ms against 5 ms at 1M positions on two cores)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")

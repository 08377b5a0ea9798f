"""A realistic demo protocol, deterministic for a seed: markets, genesis parameters, hourly prices,
accounts, positions and exposure snapshot history.

Prices are correlated GBM (one common factor, Student-t shocks) ending at today's levels; position
notionals are lognormal with whales; leverage is mostly 1–10x with a tail up to each market's
maximum. Every random draw comes from `numpy.random.default_rng(seed)` in a fixed order, so the same
seed gives the same addresses, sizes and prices. Prices are quote units per base unit, sizes base units.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone
from eth_utils import keccak, to_checksum_address

from riskgov.core.models import AuditAction, AuditRecord
from riskgov.core.models.versions import ChangeSource
from riskgov.core.roles import Role, role_assign
from riskgov.core.services.audit import audit_record
from riskgov.core.services.bulk_writes import rows_insert
from riskgov.markets.models import (
    Account,
    ExposureSnapshot,
    LossWaterfall,
    MarginParameters,
    Market,
    ParameterChangeRequest,
    Position,
    PositionStatus,
    PriceObservation,
)
from riskgov.markets.services.exposure import exposure_snapshot_take
from riskgov.markets.services.parameters import margin_parameters_change
from riskgov.monitoring.models import Alert, MarginPolicy, MarginRecommendation, PriceFeed

PRICE_SOURCE = "demo"
DEMO_ACTOR = "seed_demo"
DEMO_USERNAME = "admin"
DEMO_PASSWORD = "admin"  # noqa: S105 - the demo login, documented next to `make run`
# One demo login per role (username = password, demo only), printed by `make run` and listed in the README.
DEMO_ROLE_USERS: dict[str, Role] = {
    "viewer": Role.VIEWER,
    "steward": Role.RISK_STEWARD,
    "guardian": Role.GUARDIAN,
    "reporter": Role.REPORT_MANAGER,
}
HOURS_PER_YEAR = 365 * 24
MIN_POSITIONS = 100
MIN_DAYS = 2  # of hourly prices
NEAR_DISTANCE = 0.05  # an open position this close to its liquidation price (fraction of the mark) is near it
NEAR_LIQUIDATION = 300  # at most this many open positions placed within NEAR_DISTANCE of their liquidation price
LIQUIDATABLE = 12  # and at most this many already past it
LONG_SHARE = 0.55  # of positions
HIGH_LEVERAGE_SHARE = 0.06  # of positions levered at 40–100 % of their market's maximum
LOOKUP_BATCH = 900

# Called with (stage, done, total).
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class MarketSpec:
    symbol: str
    name: str
    price: float  # today's level, quote per base
    volatility: float  # annualised
    beta: float  # loading on the common (crypto beta) factor
    depth: int  # quote notional that moves the price ~1 %
    imr: str
    mmr: str
    max_leverage: int
    penalty: str
    oi_cap: int
    weight: float  # share of positions
    size_margin_base: int | None = None
    size_margin_slope: str | None = None
    loss_waterfall: str = LossWaterfall.SOCIALISED  # who pays what the insurance fund cannot absorb


DEMO_MARKETS: tuple[MarketSpec, ...] = (
    MarketSpec(
        "BTC",
        "Bitcoin",
        95_000,
        0.55,
        0.90,
        60_000_000,
        "0.02",
        "0.01",
        50,
        "0.005",
        800_000_000,
        0.28,
        5_000_000,
        "0.005",
    ),
    MarketSpec(
        "ETH",
        "Ether",
        3_400,
        0.70,
        0.88,
        30_000_000,
        "0.02",
        "0.01",
        50,
        "0.005",
        500_000_000,
        0.22,
        3_000_000,
        "0.005",
    ),
    MarketSpec(
        "SOL",
        "Solana",
        200,
        0.90,
        0.80,
        10_000_000,
        "0.05",
        "0.025",
        20,
        "0.0125",
        150_000_000,
        0.13,
        loss_waterfall=LossWaterfall.ADL,  # one auto-deleveraging market, so demo runs show the ADL section
    ),
    MarketSpec("LINK", "Chainlink", 22, 0.85, 0.75, 3_000_000, "0.05", "0.025", 20, "0.0125", 60_000_000, 0.07),
    MarketSpec("AVAX", "Avalanche", 35, 0.95, 0.75, 2_500_000, "0.05", "0.025", 20, "0.0125", 50_000_000, 0.07),
    MarketSpec("ARB", "Arbitrum", 0.8, 1.00, 0.70, 1_500_000, "0.1", "0.05", 10, "0.02", 20_000_000, 0.07),
    MarketSpec("DOGE", "Dogecoin", 0.35, 1.10, 0.60, 4_000_000, "0.1", "0.05", 10, "0.02", 40_000_000, 0.10),
    MarketSpec("WIF", "dogwifhat", 2.5, 1.30, 0.55, 1_000_000, "0.1", "0.05", 10, "0.02", 15_000_000, 0.06),
)
DEMO_SYMBOLS = tuple(spec.symbol for spec in DEMO_MARKETS)


class DemoError(Exception):
    """The demo cannot be seeded as asked (e.g. demo rows exist and no reset was requested)."""


@dataclass(frozen=True)
class DemoResult:
    seed: int
    markets: int
    prices: int
    accounts: int
    open_positions: int
    closed_positions: int
    liquidated_positions: int
    near_liquidation: int
    liquidatable: int
    snapshot_sets: int


def demo_is_seeded() -> bool:
    """True when seed_demo built the demo markets that exist now."""
    return demo_seed_info() is not None and Market.objects.filter(symbol__in=DEMO_SYMBOLS).exists()


def demo_seed_info() -> dict[str, object] | None:
    """What the last seeding recorded (seed, sizes), or None."""
    record = AuditRecord.objects.filter(action=AuditAction.DEMO_SEEDED).order_by("-created_at").first()
    return record.data if record else None


def demo_seed(
    *,
    seed: int,
    positions: int = 20_000,
    days: int = 180,
    snapshot_days: int = 7,
    reset: bool = False,
    progress: Progress | None = None,
) -> DemoResult:
    """Build the demo protocol in one transaction. Raises DemoError when demo markets exist and not `reset`."""
    if positions < MIN_POSITIONS or days < MIN_DAYS or snapshot_days < 0 or snapshot_days > days:
        raise DemoError(
            f"need at least {MIN_POSITIONS} positions, {MIN_DAYS} days of prices and 0 ≤ snapshot days ≤ days"
        )
    report = progress or (lambda stage, done, total: None)
    rng = np.random.default_rng(seed)
    end = timezone.now().replace(minute=0, second=0, microsecond=0)
    times = [end - timedelta(hours=hours) for hours in range(days * 24 - 1, -1, -1)]
    with transaction.atomic():
        taken = sorted(Market.objects.filter(symbol__in=DEMO_SYMBOLS).values_list("symbol", flat=True))
        if taken and not reset:
            origin = "the demo" if demo_is_seeded() else "something other than the demo"
            raise DemoError(
                f"markets {', '.join(taken)} already exist (created by {origin}); "
                "pass --reset to delete them and rebuild the demo"
            )
        if taken:
            demo_reset()
        markets = _markets_create(times[0])
        report("markets and genesis parameters", len(markets), len(markets))
        paths = _price_paths(rng, len(times))
        price_count = _prices_insert(markets, times, paths)
        report("hourly prices", price_count, price_count)
        account_ids = _accounts_insert(seed, max(50, positions // 5))
        report("accounts", len(account_ids), len(account_ids))
        counts = _positions_insert(rng, seed, positions, markets, account_ids, times, paths)
        report("positions", positions, positions)
        snapshot_times = [end - timedelta(hours=h) for h in range(snapshot_days * 24, 0, -1)] + [timezone.now()]
        for done, moment in enumerate(snapshot_times, start=1):
            exposure_snapshot_take(taken_at=moment)
            report("exposure snapshots", done, len(snapshot_times))
        result = DemoResult(
            seed=seed,
            markets=len(markets),
            prices=price_count,
            accounts=len(account_ids),
            snapshot_sets=len(snapshot_times),
            **counts,
        )
        audit_record(
            action=AuditAction.DEMO_SEEDED,
            subject=markets[0],
            actor=DEMO_ACTOR,
            data={"seed": seed, "positions": positions, "days": days, "snapshot_days": snapshot_days},
        )
    return result


def demo_reset() -> None:
    """Delete the demo markets and everything hanging off them (positions, prices, versions, snapshots)."""
    markets = Market.objects.filter(symbol__in=DEMO_SYMBOLS)
    with transaction.atomic():
        # margin policy state hangs off the parameter versions: it goes first
        Alert.objects.filter(market__in=markets).delete()
        MarginRecommendation.objects.filter(market__in=markets).delete()
        MarginPolicy.objects.filter(market__in=markets).delete()
        PriceFeed.objects.filter(market__in=markets).delete()
        ParameterChangeRequest.objects.filter(market__in=markets).delete()  # with their attestations
        moments = ExposureSnapshot.objects.filter(market__in=markets).values("taken_at")
        ExposureSnapshot.objects.filter(taken_at__in=moments).delete()
        Position.objects.filter(market__in=markets).delete()
        PriceObservation.objects.filter(market__in=markets).delete()
        MarginParameters.objects.filter(market__in=markets).delete()  # queryset delete: versions go with the market
        try:
            markets.delete()
        except ProtectedError as error:
            names = sorted({str(obj._meta.verbose_name_plural) for obj in error.protected_objects})
            raise DemoError(f"cannot reset the demo: its markets are referenced by {', '.join(names)}") from error
        Account.objects.filter(label__startswith="demo", positions__isnull=True).delete()


def demo_user_ensure() -> bool:
    """Create the demo staff user admin/admin when missing (demo only); True when created."""
    users = get_user_model()
    if users.objects.filter(username=DEMO_USERNAME).exists():
        return False
    users.objects.create_superuser(DEMO_USERNAME, email="admin@localhost", password=DEMO_PASSWORD)
    return True


def demo_role_users_ensure() -> list[str]:
    """Create the demo login of each role when missing (demo only: password = username); the names created.

    Each may enter the admin (``is_staff``); what it may do there and on the pages is its role's permissions.
    """
    users = get_user_model()
    created = []
    for username, role in DEMO_ROLE_USERS.items():
        if users.objects.filter(username=username).exists():
            continue
        user = users.objects.create_user(username, email=f"{username}@localhost", password=username, is_staff=True)
        role_assign(user=user, roles=[role])
        created.append(username)
    return created


def _markets_create(genesis_at: datetime) -> list[Market]:
    markets = []
    for spec in DEMO_MARKETS:
        market = Market.objects.create(
            symbol=spec.symbol,
            name=f"{spec.name} perpetual",
            depth=Decimal(spec.depth),
            reference_volatility=Decimal(str(spec.volatility)),
            loss_waterfall=spec.loss_waterfall,
        )
        changes: dict[str, Decimal | None] = {
            "imr": Decimal(spec.imr),
            "mmr": Decimal(spec.mmr),
            "max_leverage": Decimal(spec.max_leverage),
            "liquidation_penalty": Decimal(spec.penalty),
            "insurance_fee_share": Decimal("0.2"),
            "oi_cap": Decimal(spec.oi_cap),
            "size_margin_base": None if spec.size_margin_base is None else Decimal(spec.size_margin_base),
            "size_margin_slope": None if spec.size_margin_slope is None else Decimal(spec.size_margin_slope),
        }
        margin_parameters_change(
            market=market,
            changes=changes,
            source=ChangeSource.GENESIS,
            reason="Genesis parameters of the demo protocol",
            actor=DEMO_ACTOR,
            effective_at=genesis_at,
        )
        markets.append(market)
    return markets


def _price_paths(rng: np.random.Generator, steps: int) -> np.ndarray:
    """(markets × steps) hourly prices: correlated GBM with Student-t (4 dof) shocks, ending at today's price."""
    dof = 4.0
    scale = np.sqrt((dof - 2) / dof)  # unit-variance t shocks
    common = rng.standard_t(dof, size=steps - 1) * scale
    own = rng.standard_t(dof, size=(len(DEMO_MARKETS), steps - 1)) * scale
    dt = 1.0 / HOURS_PER_YEAR
    paths = np.empty((len(DEMO_MARKETS), steps))
    for index, spec in enumerate(DEMO_MARKETS):
        shocks = spec.beta * common + np.sqrt(1 - spec.beta**2) * own[index]
        log_returns = spec.volatility * np.sqrt(dt) * shocks - 0.5 * spec.volatility**2 * dt
        path = np.concatenate([[0.0], np.cumsum(log_returns)])
        paths[index] = spec.price * np.exp(path - path[-1])
    return paths


def _decimal(value: float, digits: int = 8) -> Decimal:
    return Decimal(f"{value:.{digits}g}")


def _prices_insert(markets: list[Market], times: list[datetime], paths: np.ndarray) -> int:
    rows = [
        (market.pk, PRICE_SOURCE, moment, _decimal(price), "")
        for market, path in zip(markets, paths, strict=True)
        for moment, price in zip(times, path.tolist(), strict=True)
    ]
    return rows_insert(PriceObservation, ["market_id", "source", "observed_at", "price", "round_id"], rows)


def demo_address(seed: int, index: int) -> str:
    return str(to_checksum_address(keccak(text=f"riskgov-demo:{seed}:{index}")[-20:]))


def _accounts_insert(seed: int, count: int) -> list[int]:
    """Account ids by index (addresses derived from the seed); the first 1 % are whales."""
    whales = max(3, count // 100)
    now = timezone.now()
    addresses = [demo_address(seed, index) for index in range(count)]
    ids: dict[str, int] = {}
    for start in range(0, count, LOOKUP_BATCH):
        ids.update(
            Account.objects.filter(address__in=addresses[start : start + LOOKUP_BATCH]).values_list("address", "pk")
        )
    rows = [
        (address, f"demo whale #{i + 1}" if i < whales else f"demo #{i + 1}", now)
        for i, address in enumerate(addresses)
        if address not in ids
    ]
    rows_insert(Account, ["address", "label", "created_at"], rows)
    for start in range(0, count, LOOKUP_BATCH):
        ids.update(
            Account.objects.filter(address__in=addresses[start : start + LOOKUP_BATCH]).values_list("address", "pk")
        )
    return [ids[address] for address in addresses]


def _positions_insert(
    rng: np.random.Generator,
    seed: int,
    open_count: int,
    markets: list[Market],
    account_ids: list[int],
    times: list[datetime],
    paths: np.ndarray,
) -> dict[str, int]:
    closed_count, liquidated_count = open_count // 10, open_count // 40
    total = open_count + closed_count + liquidated_count
    steps = len(times)
    weights = np.array([spec.weight for spec in DEMO_MARKETS])
    market = rng.choice(len(DEMO_MARKETS), size=total, p=weights / weights.sum())
    long = rng.random(total) < LONG_SHARE
    # Recent positions are more common: opening time exponential with a 15-day mean, back from now.
    hour = np.clip(steps - 1 - rng.exponential(15 * 24, size=total).astype(np.int64), 0, steps - 1)
    entry = paths[market, hour] * (1 + rng.normal(0, 0.001, size=total))
    # Accounts: a power law over account index, so low indices (the whales) trade most.
    account = np.minimum((len(account_ids) * rng.random(total) ** 2.2).astype(np.int64), len(account_ids) - 1)
    whales = max(3, len(account_ids) // 100)
    notional = rng.lognormal(np.log(4_000), 1.5, size=total)
    notional = np.where(account < whales, notional * rng.lognormal(np.log(40), 0.5, size=total), notional)
    oi_caps = np.array([spec.oi_cap for spec in DEMO_MARKETS], dtype=float)
    notional = np.clip(notional, 50, 0.01 * oi_caps[market])
    max_leverage = np.array([spec.max_leverage for spec in DEMO_MARKETS], dtype=float)[market]
    leverage = np.exp(rng.normal(np.log(3.5), 0.6, size=total))
    tail = rng.random(total) < HIGH_LEVERAGE_SHARE
    leverage = np.where(tail, rng.uniform(0.4, 1.0, size=total) * max_leverage, leverage)
    leverage = np.clip(leverage, 1.0, 0.98 * max_leverage)
    mmr = np.array([float(spec.mmr) for spec in DEMO_MARKETS])[market]
    mark = paths[market, -1]

    # Place chosen open positions at a given distance to liquidation by solving for the entry price.
    distance = _distance(
        long=long, quantity=notional / entry, entry=entry, collateral=notional / leverage, mark=mark, mmr=mmr
    )
    is_open = np.arange(total) < open_count
    chosen = rng.permutation(open_count)
    liquidatable, near = min(LIQUIDATABLE, open_count // 100), min(NEAR_LIQUIDATION, open_count // 20)
    targets = np.full(total, np.nan)
    targets[chosen[:liquidatable]] = rng.uniform(-0.02, -0.002, size=liquidatable)
    targets[chosen[liquidatable : liquidatable + near]] = rng.uniform(0.003, 0.049, size=near)
    # Open positions the market has already run past their liquidation price were topped up by their owners.
    redo = is_open & np.isnan(targets) & (distance < NEAR_DISTANCE)
    targets[redo] = rng.uniform(0.06, 0.4, size=int(redo.sum()))
    placed = ~np.isnan(targets)
    leverage = np.where(placed, np.maximum(leverage, 1.5), leverage)
    factor = np.where(
        long, (1 - targets) * (1 - mmr) / (1 - 1 / leverage), (1 + targets) * (1 + mmr) / (1 + 1 / leverage)
    )
    entry = np.where(placed, mark * factor, entry)
    quantity = notional / entry
    collateral = quantity * entry / leverage

    opened = [times[h] + timedelta(minutes=int(m)) for h, m in zip(hour, rng.integers(0, 60, total), strict=True)]
    held_hours = rng.exponential(48, size=total)
    now = timezone.now()
    rows = []
    for i in range(total):
        status = (
            PositionStatus.OPEN
            if i < open_count
            else (PositionStatus.CLOSED if i < open_count + closed_count else PositionStatus.LIQUIDATED)
        )
        closed_at = None if status == PositionStatus.OPEN else min(now, opened[i] + timedelta(hours=held_hours[i]))
        size = _decimal(quantity[i]) if long[i] else -_decimal(quantity[i])
        rows.append(
            (
                f"demo-{seed}-{i:06d}",
                account_ids[account[i]],
                markets[market[i]].pk,
                size,
                _decimal(entry[i]),
                Decimal(f"{collateral[i]:.2f}"),
                status.value,
                opened[i],
                now,
                closed_at,
            )
        )
    rows_insert(
        Position,
        [
            "external_id",
            "account_id",
            "market_id",
            "size",
            "entry_price",
            "collateral",
            "status",
            "opened_at",
            "updated_at",
            "closed_at",
        ],
        rows,
    )
    final = _distance(long=long, quantity=quantity, entry=entry, collateral=collateral, mark=mark, mmr=mmr)[:open_count]
    return {
        "open_positions": open_count,
        "closed_positions": closed_count,
        "liquidated_positions": liquidated_count,
        "near_liquidation": int(np.count_nonzero((final >= 0) & (final < NEAR_DISTANCE))),
        "liquidatable": int(np.count_nonzero(final < 0)),
    }


def _distance(
    *,
    long: np.ndarray,
    quantity: np.ndarray,
    entry: np.ndarray,
    collateral: np.ndarray,
    mark: np.ndarray,
    mmr: np.ndarray,
) -> np.ndarray:
    """Fractional adverse move to the liquidation price (negative: already liquidatable; inf: never)."""
    size = np.where(long, quantity, -quantity)
    with np.errstate(divide="ignore", invalid="ignore"):
        liquidation = (entry - collateral / size) / (1 - np.sign(size) * mmr)
        return np.where(
            long, np.where(liquidation > 0, (mark - liquidation) / mark, np.inf), (liquidation - mark) / mark
        )

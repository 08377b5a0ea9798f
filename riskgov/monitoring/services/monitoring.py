"""Alert evaluation: every enabled rule against fresh figures; open, refresh and resolve alerts.

One open alert per (rule, market) — a partial unique constraint — so a sweep run twice, or two sweeps
at once, open nothing twice. A rule whose figure is unknown (no coverage run yet, a market without
feeds or prices) neither opens nor resolves anything. Alerts of disabled or deleted rules resolve.

Each alert takes its rule's severity when it opens. A snooze covers its (rule, market) until its time: an
alert that clears and opens again meanwhile opens snoozed, and nothing is delivered while snoozed; when
the snooze ends on a still-open alert, its "opened" notice goes out if it never did. An alert a person
resolved while its condition still holds opens again, as a new alert, at the next sweep: resolving says
the cause is dealt with, and a condition that is still true is news; to quiet it, snooze it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from riskgov.markets.models import Market
from riskgov.markets.selectors.exposure import SnapshotHealthState, snapshot_health
from riskgov.markets.selectors.markets import MarketState, market_states
from riskgov.monitoring.models import Alert, AlertDeliveryEvent, AlertKind, AlertRule, AlertState
from riskgov.monitoring.models.monitoring import MARKET_KINDS
from riskgov.monitoring.selectors.margin_policy import automatic_parameter_changes
from riskgov.monitoring.selectors.monitoring import (
    NEAR_BAND,
    AccountBalance,
    indexer_lag,
    latest_coverage,
    market_risk_figures,
    relayer_balance,
    volatility_jumps,
)
from riskgov.monitoring.selectors.oracle import oracle_readings
from riskgov.monitoring.services.alert_delivery import alert_deliveries_create


@dataclass(frozen=True)
class Finding:
    breached: bool
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass
class SweepResult:
    opened: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    still_open: int = 0
    evaluated: int = 0


class _Figures:
    """The figures one sweep needs, each read at most once and only when a rule asks for it."""

    def __init__(self, now: datetime):
        self.now = now
        self._cache: dict[str, Any] = {}
        self.states: list[MarketState] = market_states(now)
        self.state_of = {s.market.pk: s for s in self.states}

    def _once(self, key: str, read: Any) -> Any:
        if key not in self._cache:
            self._cache[key] = read()
        return self._cache[key]

    def risk(self) -> Any:
        return self._once("risk", lambda: market_risk_figures(self.states))

    def jumps(self) -> Any:
        return self._once("jumps", lambda: volatility_jumps(list(self.state_of), self.now))

    def oracles(self) -> Any:
        return self._once("oracles", lambda: oracle_readings([s.market for s in self.states], self.now))

    def coverage(self) -> Any:
        return self._once("coverage", latest_coverage)

    def indexer(self) -> Any:
        return self._once("indexer", lambda: indexer_lag(self.now))

    def snapshots(self) -> SnapshotHealthState:
        return self._once("snapshots", snapshot_health)

    def relayer_balance(self, address: str) -> AccountBalance | None:
        return self._once(f"relayer_balance:{address.lower()}", lambda: relayer_balance(address))

    def automatic_changes(self, since: datetime) -> dict[str, list[dict[str, Any]]]:
        """Automatic parameter changes since `since`, by market symbol (their audit data)."""
        changes: dict[str, list[dict[str, Any]]] = {}
        for record in automatic_parameter_changes(since=since):
            changes.setdefault(record.data.get("market", ""), []).append(
                {**record.data, "at": record.created_at.isoformat()}
            )
        return changes


def _usd(value: float) -> str:
    return f"${value:,.0f}"


def _near_liquidation_finding(rule: AlertRule, market: Market, figures: _Figures) -> Finding | None:
    threshold = float(rule.threshold)
    risk = figures.risk().get(market.pk)
    if risk is None:
        return None
    value = risk.near_liquidation_notional
    return Finding(
        value > threshold,
        f"{market}: {_usd(value)} within {NEAR_BAND:.0%} of liquidation (limit {_usd(threshold)})",
        {"near_liquidation_notional": value, "band": NEAR_BAND, "threshold": threshold},
    )


def _oi_share_finding(rule: AlertRule, market: Market, figures: _Figures) -> Finding | None:
    threshold = float(rule.threshold)
    risk = figures.risk().get(market.pk)
    params = figures.state_of[market.pk].parameters
    if risk is None or params is None or not params.oi_cap:
        return None
    cap = float(params.oi_cap)
    share = max(risk.oi_long, risk.oi_short) / cap
    return Finding(
        share > threshold,
        f"{market}: open interest at {share:.0%} of its cap (limit {threshold:.0%})",
        {"oi_long": risk.oi_long, "oi_short": risk.oi_short, "oi_cap": cap, "share": share, "threshold": threshold},
    )


def _volatility_jump_finding(rule: AlertRule, market: Market, figures: _Figures) -> Finding | None:
    threshold = float(rule.threshold)
    jump = figures.jumps().get(market.pk)
    if jump is None:
        return None
    return Finding(
        jump.ratio > threshold,
        f"{market}: 24 h volatility {jump.short_annual:.0%} is {jump.ratio:.1f}× the 30-day "
        f"{jump.long_annual:.0%} (limit {threshold:g}×)",
        {
            "short_annual": jump.short_annual,
            "long_annual": jump.long_annual,
            "ratio": jump.ratio,
            "threshold": threshold,
        },
    )


def _oracle_finding(rule: AlertRule, market: Market, figures: _Figures) -> Finding | None:
    threshold = float(rule.threshold)
    reading = figures.oracles().get(market.pk)
    if reading is None:
        return None
    flagged = reading.flagged
    names = (
        ", ".join(
            f"{f.name} {f.status}"
            + (f" ({f.deviation:.1%} from the median)" if f.status == "deviating" and f.deviation is not None else "")
            for f in flagged
        )
        or "all feeds healthy"
    )
    no_price = reading.reference_price is None
    return Finding(
        len(flagged) > threshold or no_price,
        f"{market}: {names}" + ("; no reference price" if no_price else ""),
        {
            "reference_price": reading.reference_price,
            "fresh_median": reading.fresh_median,
            "feeds": [
                {
                    "name": f.name,
                    "status": str(f.status),
                    "price": f.price,
                    "age_seconds": f.age_seconds,
                    "deviation": f.deviation,
                }
                for f in reading.feeds
            ],
            "threshold": threshold,
        },
    )


def _coverage_finding(rule: AlertRule, figures: _Figures) -> Finding | None:
    threshold = float(rule.threshold)
    coverage = figures.coverage()
    if coverage is None:
        return None
    evidence = {
        "run_id": coverage.run_id,
        "coverage_ratio": coverage.coverage_ratio,
        "exhaustion_probability": coverage.exhaustion_probability,
        "threshold": threshold,
        "finished_at": coverage.finished_at.isoformat() if coverage.finished_at else None,
    }
    if rule.kind == AlertKind.COVERAGE_RATIO_BELOW:
        ratio = coverage.coverage_ratio
        shown = "unbounded" if ratio is None else f"{ratio:.2f}"
        return Finding(
            ratio is not None and ratio < threshold,
            f"Insurance fund coverage ratio {shown} (run #{coverage.run_id}; limit {threshold:g})",
            evidence,
        )
    probability = coverage.exhaustion_probability
    if probability is None:
        return None
    return Finding(
        probability > threshold,
        f"P(fund exhausted) {probability:.2%} (run #{coverage.run_id}; limit {threshold:.2%})",
        evidence,
    )


def _indexer_lag_finding(rule: AlertRule, figures: _Figures) -> Finding | None:
    threshold = float(rule.threshold)
    lag = figures.indexer()
    if lag is None:
        return None
    return Finding(
        lag.seconds > threshold,
        f"Chain indexer {lag.seconds:,.0f} s behind (limit {threshold:g} s)",
        {
            "seconds": lag.seconds,
            "checkpoint": lag.checkpoint,
            "threshold": threshold,
            "last_success_at": lag.last_success_at.isoformat() if lag.last_success_at else None,
        },
    )


def _snapshot_finding(rule: AlertRule, figures: _Figures) -> Finding | None:
    """Open when the snapshot task fails, or has not succeeded for `threshold` minutes; None before any run."""
    threshold = float(rule.threshold)
    health = figures.snapshots()
    if health.last_success_at is None and health.failing_since is None:
        return None
    age_minutes = (
        None if health.last_success_at is None else (figures.now - health.last_success_at).total_seconds() / 60
    )
    stale = age_minutes is None or age_minutes > threshold
    if health.failing_since is not None:
        message = f"Exposure snapshots failing since {health.failing_since:%Y-%m-%d %H:%M} UTC: {health.last_error}"
    else:
        message = f"No exposure snapshot for {age_minutes:,.0f} min (limit {threshold:g} min)"
    return Finding(
        health.failing_since is not None or stale,
        message[:500],
        {
            "last_success_at": health.last_success_at.isoformat() if health.last_success_at else None,
            "failing_since": health.failing_since.isoformat() if health.failing_since else None,
            "last_error": health.last_error,
            "minutes_since_success": age_minutes,
            "threshold": threshold,
        },
    )


def _automatic_change_finding(rule: AlertRule, market: Market, figures: _Figures) -> Finding | None:
    """Open while the market's margin policy changed its parameters by itself within the last `threshold` hours,
    so every automatic change reaches the rule's channels once (opened), and closes after the window."""
    hours = float(rule.threshold)
    changes = figures.automatic_changes(figures.now - timedelta(hours=hours)).get(market.symbol, [])
    described = "; ".join(
        f"v{change.get('version')} {change.get('direction') or 'change'} ({change.get('reason') or 'policy'})"
        for change in changes
    )
    return Finding(
        bool(changes),
        f"{market}: margin policy applied {described}"[:500] if changes else f"{market}: no automatic change",
        {"changes": changes, "window_hours": hours},
    )


WEI_PER_ETH = Decimal(10**18)


def _relayer_balance_finding(rule: AlertRule, figures: _Figures) -> Finding | None:
    """Open while the vote relayer (or the rule's account) holds less than ``threshold`` ETH for gas; unknown
    (no relayer configured, the node down) opens and resolves nothing."""
    reading = figures.relayer_balance(rule.address)
    if reading is None:
        return None
    balance = Decimal(reading.wei) / WEI_PER_ETH
    return Finding(
        balance < rule.threshold,
        f"Vote relayer {reading.address} holds {balance:,.4f} ETH (limit {rule.threshold.normalize():f} ETH)",
        {"address": reading.address, "balance_wei": str(reading.wei), "threshold_eth": str(rule.threshold)},
    )


# one evaluation per alert kind: market kinds are evaluated per market, protocol kinds once
MARKET_FINDINGS: dict[str, Callable[[AlertRule, Market, _Figures], Finding | None]] = {
    AlertKind.NEAR_LIQ_NOTIONAL_ABOVE: _near_liquidation_finding,
    AlertKind.OI_SHARE_OF_CAP_ABOVE: _oi_share_finding,
    AlertKind.VOLATILITY_JUMP: _volatility_jump_finding,
    AlertKind.ORACLE_STALE_OR_DEVIATING: _oracle_finding,
    AlertKind.AUTOMATIC_PARAMETER_CHANGE: _automatic_change_finding,
}
PROTOCOL_FINDINGS: dict[str, Callable[[AlertRule, _Figures], Finding | None]] = {
    AlertKind.COVERAGE_RATIO_BELOW: _coverage_finding,
    AlertKind.EXHAUSTION_ABOVE: _coverage_finding,
    AlertKind.INDEXER_LAG_ABOVE: _indexer_lag_finding,
    AlertKind.SNAPSHOT_FAILING: _snapshot_finding,
    AlertKind.RELAYER_BALANCE_BELOW: _relayer_balance_finding,
}


def _market_finding(rule: AlertRule, market: Market, figures: _Figures) -> Finding | None:
    evaluate = MARKET_FINDINGS.get(rule.kind)
    return None if evaluate is None else evaluate(rule, market, figures)


def _protocol_finding(rule: AlertRule, figures: _Figures) -> Finding | None:
    evaluate = PROTOCOL_FINDINGS.get(rule.kind)
    return None if evaluate is None else evaluate(rule, figures)


def _findings(rules: list[AlertRule], figures: _Figures) -> dict[tuple[int, int | None], Finding]:
    found: dict[tuple[int, int | None], Finding] = {}
    for rule in rules:
        if rule.kind in MARKET_KINDS:
            markets = [rule.market] if rule.market is not None else [s.market for s in figures.states]
            for market in markets:
                if market is None or market.pk not in figures.state_of:
                    continue
                finding = _market_finding(rule, market, figures)
                if finding is not None:
                    found[(rule.pk, market.pk)] = finding
        else:
            finding = _protocol_finding(rule, figures)
            if finding is not None:
                found[(rule.pk, None)] = finding
    return found


def _resolve(alert: Alert, *, now: datetime, evidence: dict[str, Any]) -> bool:
    """Resolve an open alert with a conditional update; True only for the sweep that resolved it."""
    changed = Alert.objects.filter(pk=alert.pk, state=AlertState.OPEN).update(
        state=AlertState.RESOLVED, resolved_at=now, last_seen_at=now, latest_evidence=evidence
    )
    return changed == 1


@dataclass(frozen=True)
class _Snooze:
    until: datetime
    by: str
    reason: str


def _snoozes(now: datetime) -> dict[tuple[int, int | None], _Snooze]:
    """Snoozes still running per (rule, market), from the alerts they were set on (open or not)."""
    found: dict[tuple[int, int | None], _Snooze] = {}
    rows = Alert.objects.filter(snoozed_until__gt=now).order_by("snoozed_until")
    for alert in rows.only("rule_id", "market_id", "snoozed_until", "snoozed_by", "snooze_reason"):
        if alert.snoozed_until is not None:  # the latest-ending snooze wins
            found[(alert.rule_id, alert.market_id)] = _Snooze(
                alert.snoozed_until, alert.snoozed_by, alert.snooze_reason
            )
    return found


def _snooze_end(alert: Alert, *, now: datetime) -> None:
    """A snooze that has run out on an open alert: clear it and send the "opened" notice it held back."""
    if alert.snoozed_until is None or alert.snoozed_until > now:
        return
    if Alert.objects.filter(pk=alert.pk, state=AlertState.OPEN, snoozed_until__lte=now).update(snoozed_until=None):
        alert_deliveries_create(alert=alert, event=AlertDeliveryEvent.OPENED)  # idempotent per target


def _resolved_notice(alert: Alert, *, now: datetime) -> None:
    if not alert.is_snoozed(now):
        alert_deliveries_create(alert=alert, event=AlertDeliveryEvent.RESOLVED)


def _alert_open(
    rule: AlertRule, market_id: int | None, finding: Finding, *, now: datetime, snooze: _Snooze | None
) -> Alert | None:
    """Open a new alert for a breached finding (snoozed if its rule and market are); None if a sweep beat us."""
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                rule=rule,
                market_id=market_id,
                severity=rule.effective_severity,
                opened_at=now,
                last_seen_at=now,
                summary=finding.summary[:300],
                evidence=finding.evidence,
                latest_evidence=finding.evidence,
                snoozed_until=snooze.until if snooze else None,
                snoozed_by=snooze.by if snooze else "",
                snooze_reason=snooze.reason if snooze else "",
            )
    except IntegrityError:  # another sweep opened it first
        return None
    if snooze is None:
        alert_deliveries_create(alert=alert, event=AlertDeliveryEvent.OPENED)
    return alert


def _alert_refresh(
    alert: Alert, rule: AlertRule | None, finding: Finding | None, *, now: datetime, result: SweepResult
) -> None:
    """Resolve an open alert whose rule went away or whose condition cleared; otherwise record the latest look."""
    if rule is None or (rule.market_id is not None and rule.market_id != alert.market_id):
        finding = Finding(False, alert.summary, {"reason": "rule disabled or moved to another market"})
    elif finding is None:
        return
    if finding.breached:
        Alert.objects.filter(pk=alert.pk, state=AlertState.OPEN).update(
            last_seen_at=now, latest_evidence=finding.evidence, summary=finding.summary[:300]
        )
        result.still_open += 1
        _snooze_end(alert, now=now)
    elif _resolve(alert, now=now, evidence=finding.evidence):
        result.resolved.append(alert.pk)
        _resolved_notice(alert, now=now)


def alerts_evaluate(*, now: datetime | None = None) -> SweepResult:
    """Evaluate every enabled rule once: open new alerts, refresh open ones, resolve cleared ones.

    Notifications (opened and resolved) are recorded as AlertDelivery rows and sent after commit.
    """
    now = now or timezone.now()
    rules = list(AlertRule.objects.filter(enabled=True).select_related("market"))
    figures = _Figures(now)
    findings = _findings(rules, figures)
    result = SweepResult(evaluated=len(findings))
    rule_of = {r.pk: r for r in rules}
    open_by_key = {
        (a.rule_id, a.market_id): a
        for a in Alert.objects.filter(state=AlertState.OPEN).select_related("rule", "market")
    }
    with transaction.atomic():
        for key, alert in open_by_key.items():
            _alert_refresh(alert, rule_of.get(alert.rule_id), findings.get(key), now=now, result=result)
        snoozes = _snoozes(now)
        for (rule_id, market_id), finding in findings.items():
            if not finding.breached or (rule_id, market_id) in open_by_key:
                continue
            opened = _alert_open(
                rule_of[rule_id], market_id, finding, now=now, snooze=snoozes.get((rule_id, market_id))
            )
            if opened is not None:
                result.opened.append(opened.pk)
    return result

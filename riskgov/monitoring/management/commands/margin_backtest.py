"""Backtest a market's margin policy (current, or with coefficients overridden) over stored prices."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from riskgov.core.templatetags.riskgov_format import p_value
from riskgov.markets.models import Market
from riskgov.monitoring.forms import EDITABLE_COEFFICIENTS, BacktestForm
from riskgov.monitoring.models import MarginPolicy
from riskgov.monitoring.selectors.margin_policy import market_backtest
from riskgov.monitoring.services.margin_policy import DEFAULT_POLICY

OVERRIDABLE = ("kind", *EDITABLE_COEFFICIENTS)


class Command(BaseCommand):
    help = (
        "Replay a market's margin policy over its hourly prices: count horizon moves beyond the MMR in force "
        "and test them (Kupiec POF at the policy's rate 1 − confidence, Christoffersen independence)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("symbol", help="Market symbol, e.g. ETH.")
        parser.add_argument("--days", type=int, default=365, help="History to replay (default 365).")
        parser.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="FIELD=VALUE",
            help=f"Override a policy coefficient ({', '.join(OVERRIDABLE)}); repeatable.",
        )
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        market = Market.objects.filter(symbol__iexact=options["symbol"]).first()
        if market is None:
            raise CommandError(f"No market {options['symbol']!r}.")
        policy = MarginPolicy.objects.current_for(market)
        values = policy.values() if policy else dict(DEFAULT_POLICY)
        values |= _overrides(options["set"], policy)
        now = timezone.now()
        try:
            found = market_backtest(
                market=market, values=values, since=now - timedelta(days=options["days"]), until=now, policy=policy
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        result = found.result
        if result is None or result.kupiec.observations == 0:
            raise CommandError(f"Not enough hourly prices for {market.symbol} in the last {options['days']} days.")
        k, actual, ind = result.kupiec, result.actual_kupiec, result.independence
        summary = {
            "market": market.symbol,
            "policy_version": policy.version if policy else None,
            "days": options["days"],
            "hours": len(result.hours),
            "windows": k.observations,
            "breaches": k.breaches,
            "breach_rate": k.breach_rate,
            "target_rate": k.target_rate,
            "kupiec_lr": k.statistic,
            "kupiec_p_value": k.p_value,
            "independence_lr": ind.statistic,
            "independence_p_value": ind.p_value,
            "conditional_coverage_p_value": result.conditional_coverage.p_value,
            "actual": None
            if actual is None
            else {
                "windows": actual.observations,
                "breaches": actual.breaches,
                "breach_rate": actual.breach_rate,
                "kupiec_p_value": actual.p_value,
            },
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary, indent=2))
            return
        self.stdout.write(
            f"{market} · policy v{summary['policy_version']} · {options['days']} days · "
            f"{k.observations} windows of {found.coefficients.horizon_hours:g} h"
        )
        self.stdout.write(
            f"  policy MMR: {k.breaches} breaches ({k.breach_rate:.2%}, target {k.target_rate:.2%}); "
            f"Kupiec LR {k.statistic:.3f}, p {p_value(k.p_value)}"
        )
        self.stdout.write(
            f"  clustering: breach after a breach {ind.rate_after_breach:.2%}, after none "
            f"{ind.rate_after_no_breach:.2%}; Christoffersen LR {ind.statistic:.3f}, p {p_value(ind.p_value)}; "
            f"conditional coverage p {p_value(result.conditional_coverage.p_value)}"
        )
        if actual is not None:
            self.stdout.write(
                f"  actual MMR: {actual.breaches} breaches of {actual.observations} "
                f"({actual.breach_rate:.2%}); Kupiec p {p_value(actual.p_value)}"
            )


def _overrides(items: list[str], policy: MarginPolicy | None) -> dict[str, Any]:
    """The `--set FIELD=VALUE` coefficients, checked as the backtest page checks them (the policy's bounds)."""
    data: dict[str, str] = {}
    for item in items:
        name, _, raw = item.partition("=")
        if name not in OVERRIDABLE or not raw:
            raise CommandError(f"--set {item!r}: expected FIELD=VALUE with FIELD one of {', '.join(OVERRIDABLE)}")
        data[name] = raw
    form = BacktestForm(data, policy=policy)
    if not form.is_valid():
        raise CommandError("--set: " + "; ".join(form.error_messages()))
    return form.changes()

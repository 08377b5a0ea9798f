"""Demo risk budgets: two markets whose parameter changes wait for a paired-run attestation.

SOL and LINK only recommend (no automatic policy), so seeding queues nothing; a steward's change there (admin,
an applied recommendation or a proposal) shows the waiting, the attestation and the verdict. The runs are kept
small (2,000 paths, 24 steps over a day) so a demo worker decides a change within seconds.
"""

from __future__ import annotations

from decimal import Decimal as D

from riskgov.demo.services.markets import DEMO_ACTOR
from riskgov.markets.models import Market, RiskBudget

# symbol: (ε = largest increase of P(fund exhausted), x = largest increase of ES99 of bad debt, quote units)
DEMO_BUDGETS: dict[str, tuple[D, D]] = {
    "SOL": (D("0.005"), D("250000")),
    "LINK": (D("0.002"), D("50000")),
}
DEMO_BUDGET_RUN = {"confidence": D("0.95"), "paths": 2_000, "steps": 24, "horizon_days": D("1")}


def demo_risk_budgets_seed() -> list[str]:
    """Give the demo's budgeted markets their risk budget when they have none; the symbols it created.

    A budget that exists (possibly edited since) is left alone, so running it again changes nothing."""
    created = []
    for market in Market.objects.filter(symbol__in=DEMO_BUDGETS).order_by("symbol"):
        epsilon, x = DEMO_BUDGETS[market.symbol]
        _, made = RiskBudget.objects.get_or_create(
            market=market,
            defaults={
                "max_exhaustion_increase": epsilon,
                "max_es99_increase": x,
                "updated_by": DEMO_ACTOR,
                **DEMO_BUDGET_RUN,
            },
        )
        if made:
            created.append(market.symbol)
    return created

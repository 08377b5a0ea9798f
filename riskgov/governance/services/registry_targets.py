"""The registry values a market's proposed parameters become: setParameters arguments as 1e18 integers.

One computation for both modes: off-chain execution pushes them from the executor account, on-chain mode puts
them in the Governor proposal's calldata at creation. ``oiCap`` is base units per side: the quote-notional
``oi_cap`` divided by the market's mark price when the proposal sets it (or the registry has no value yet),
otherwise the registry's current value.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from chain.client import ChainClient
from chain.registry import registry_targets
from chain.units import market_id, to_fixed
from riskgov.governance.errors import GovernanceError
from riskgov.markets.models import Market
from riskgov.markets.selectors.markets import markets_with_marks


class RegistryTargetsError(GovernanceError):
    """The registry values cannot be computed (no OI cap or no mark price to convert it)."""

    status = 502


def chain_symbol(market: Market) -> str:
    """The registry's market symbol, e.g. ETH-USD (``bytes32`` via chain.units.market_id)."""
    return market.symbol if "-" in market.symbol else f"{market.symbol}-{market.quote_asset}"


def registry_values_for(
    client: ChainClient, registry: Any, market: Market, values: dict[str, Decimal | None], oi_cap_changed: bool
) -> dict[str, str]:
    """setParameters values (decimal strings of 1e18 integers) of `market` with its full proposed `values`."""
    mid = market_id(chain_symbol(market))
    configured = bool(client.call(registry.functions.isConfigured(mid)))
    if oi_cap_changed or not configured:
        priced = markets_with_marks().filter(pk=market.pk).first()
        mark = getattr(priced, "mark_price", None)
        if values["oi_cap"] is None or not mark:
            raise RegistryTargetsError(
                "no_oi_cap",
                f"{market.symbol}: the registry needs an OI cap in base units, which needs an OI cap and a mark price",
            )
        oi_cap = to_fixed(Decimal(values["oi_cap"]) / Decimal(mark))
    else:
        oi_cap = int(client.call(registry.functions.getParameters(mid))[5])
    return registry_targets(values, oi_cap=oi_cap)

"""Resolving chain identities to riskgov rows in bulk: market symbols to Markets, addresses to Accounts.

On chain a market is its pair symbol ("ETH-USD"); in riskgov it is ``Market(symbol="ETH",
quote_asset="USD")``. Missing rows are created, one query per batch, never one per event.
"""

from __future__ import annotations

from collections.abc import Iterable

from riskgov.markets.models import Account, Market


def market_key(chain_symbol: str) -> tuple[str, str]:
    """``"ETH-USD"`` -> ``("ETH", "USD")``; a symbol without a quote is quoted in USD."""
    base, _, quote = chain_symbol.partition("-")
    return base, quote or "USD"


def chain_symbol(market: Market) -> str:
    """``Market(symbol="ETH", quote_asset="USD")`` -> ``"ETH-USD"`` (the on-chain market id's symbol)."""
    return f"{market.symbol}-{market.quote_asset}"


def markets_ensure(chain_symbols: Iterable[str]) -> dict[str, Market]:
    """Markets for on-chain symbols, created (active, named "ETH / USD") when missing."""
    wanted = {symbol: market_key(symbol) for symbol in set(chain_symbols)}
    if not wanted:
        return {}
    bases = {base for base, _ in wanted.values()}
    existing = {market.symbol: market for market in Market.objects.filter(symbol__in=bases)}
    missing = [
        Market(symbol=base, quote_asset=quote, name=f"{base} / {quote}")
        for base, quote in sorted(set(wanted.values()))
        if base not in existing
    ]
    if missing:
        Market.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {market.symbol: market for market in Market.objects.filter(symbol__in=bases)}
    return {symbol: existing[base] for symbol, (base, _) in wanted.items()}


def accounts_ensure(addresses: Iterable[str]) -> dict[str, int]:
    """Account ids for checksummed ``addresses``, creating the missing ones."""
    wanted = set(addresses)
    if not wanted:
        return {}
    found = dict(Account.objects.filter(address__in=wanted).values_list("address", "id"))
    missing = wanted - found.keys()
    if missing:
        Account.objects.bulk_create([Account(address=address) for address in sorted(missing)], ignore_conflicts=True)
        found.update(Account.objects.filter(address__in=missing).values_list("address", "id"))
    return found

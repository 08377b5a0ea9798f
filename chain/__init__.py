"""chain — the chain layer for RiskGov: contract artifacts, JSON-RPC client, local Anvil node, EIP-712 ballots
and protocol deployment, plus the Django side that records deployments and indexes contract events.
The client, artifacts, EIP-712 and deploy modules import no Django, so they can be used and tested alone.
May import: riskgov.core, riskgov.markets (never insurance, governance, monitoring or reports).

Fixed-point conventions shared with the contracts (see chain/contracts/*.sol):

- token amounts, sizes (signed base units), collateral and notional (quote units): 1e18;
- prices inside ``PerpMarket`` (entry and mark): quote per base, 1e18;
- ``PriceFeed`` answers: quote per base with the feed's ``decimals()`` (8 by convention);
- margin rates and shares in ``RiskParameterRegistry``: fractions, 1e18 (5 % = 0.05e18);
  ``maxLeverage`` a multiple, 1e18 (20x = 20e18); ``oiCap`` base units per side, 1e18;
- market ids: ``bytes32`` holding the ASCII symbol, left-aligned (see :mod:`chain.units`).
"""

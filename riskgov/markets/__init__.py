"""markets — the protocol's book and what it is exposed to.

Owns: markets, accounts, positions, price observations, versioned margin parameters and the guardrails every
change passes, exposure snapshots and their aggregates (`domain/` holds the pure position and aggregate
formulas), CSV/JSON imports, and the dashboard, market and position pages (URL namespace `riskgov`).
May import: riskgov.core.
"""

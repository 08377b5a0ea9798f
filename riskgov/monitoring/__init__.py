"""monitoring — dynamic margin and protocol alerts.

Owns: margin policies (`domain/margin_policy.py`, pure formulas), the recommender that applies them inside
the steward bounds or turns them into recommendations and proposals, backtests (Kupiec), oracle feeds and
their health (`domain/oracle.py`), alert rules, alerts and their e-mail/webhook deliveries, the risk pages.
May import: riskgov.core, riskgov.markets, chain, insurance, riskgov.governance — not riskgov.reports.
"""

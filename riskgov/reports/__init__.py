"""reports — scheduled exposure reports for risk teams and the DAO.

Owns: report schedules (tied to beat entries), reports for a period (`domain/periods.py`, pure), their
content, charts and rendering (HTML, e-mail, CSV, JSON, PDF), deliveries and subscriptions, report pages.
May import: riskgov.core, riskgov.markets, chain, insurance, riskgov.governance — not riskgov.monitoring.
"""

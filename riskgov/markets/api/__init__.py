"""Markets JSON API (read-only, public like the pages it mirrors): markets and their parameter versions, open
positions with the positions page's filters, exposure snapshots, the liquidation map and the shock table.

Conventions (authentication, pagination, errors) are those of ``riskgov.core.api``.
"""

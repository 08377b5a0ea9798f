"""The JSON API's shared conventions; each app keeps its endpoints in its own ``api/`` package.

Routes: ``/<app prefix>/api/<resource>/`` — ``/api/markets/``, ``/api/positions/``, ``/api/exposure/…``
(markets), ``/risk/api/alerts/`` (monitoring), ``/reports/api/reports/``, ``/governance/api/proposals/``,
``/insurance/api/runs/``. The OpenAPI schema is at ``/api/schema/`` (browsable at ``/api/docs/``).

Authentication: the browser session (unsafe methods need the CSRF token) or, for machine clients, a token
sent as ``Authorization: Token <key>`` (``authentication.ApiTokenAuthentication``). A token acts as its user:
the same named permissions (``riskgov.core.models.Permission``), no more. A user creates or revokes their
token at ``/api/token/``, with ``manage.py api_token <username>``, or an admin does so in the admin. HTTP
Basic is not accepted anywhere.

Permissions: reads that mirror public pages are public; staff-only reads ask for ``VIEW_STAFF_PAGES``; every
write asks for its named permission — each view declares them in ``permission_classes``.

Pagination: collections answer ``{"count", "next", "previous", "results"}`` (``?limit=&offset=``, at most
``pagination.MAX_LIMIT`` rows a page); open positions answer ``{"next", "previous", "results"}`` with a keyset
``?cursor=`` (see ``riskgov.markets.selectors.positions``). The governance proposal and vote lists predate this
and answer plain arrays.

Errors: every refusal answers ``{"error": {"code", "message", "field"}}`` (``errors.api_exception_handler``):
400 bad input (``field`` names it), 401 no or a bad token, 403 a missing permission or CSRF token, 404, 405,
409 a state that refuses the action, 415, 429 too many requests. The schema documents the shape once
(component ``Error``) and, per operation, the statuses it may answer (``schema.RiskGovAutoSchema``).
"""

"""Monitoring JSON API: alerts (public reads, like the alerts page) and the actions on an open alert —
acknowledge, snooze, resolve — for users holding ``Permission.ACKNOWLEDGE_ALERT``.

Conventions (authentication, pagination, errors) are those of ``riskgov.core.api``.
"""

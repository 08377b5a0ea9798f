"""The on-chain governance demo's windows: short enough that a proposal goes through voting, the timelock and
execution while one watches.

The Governor takes its voting delay, period and timelock from the governance settings when ``chain_deploy``
deploys it, and keeps them: so they are set here, before the deploy, on a demo whose settings nobody changed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection

from chain.models import ChainDeployment, GovernanceMode
from riskgov.governance.models import GovernanceSettings

# Seconds (the Governor's blocks follow CHAIN_SECONDS_PER_BLOCK): voting opens after 30 s, lasts 10 minutes, and
# a queued proposal executes 2 minutes later.
DEMO_ONCHAIN_WINDOWS = {"voting_delay_seconds": 30, "voting_period_seconds": 600, "timelock_seconds": 120}


class DemoDatabaseUnfit(Exception):
    """The configured database cannot hold the on-chain mode's values."""


def demo_onchain_database_check() -> None:
    """On-chain mode indexes the chain's positions, prices and margins, 18-decimal amounts of up to 38 digits that
    SQLite keeps to 15 significant digits (token wei, vote weights and proposal ids are exact there too, as
    Uint256Field), and its indexer writes while the workers and the web read, which SQLite's single writer lock
    turns into "database table is locked". Raises DemoDatabaseUnfit naming the setting to change."""
    if settings.RISKGOV_GOVERNANCE_MODE == GovernanceMode.ONCHAIN and connection.vendor == "sqlite":
        raise DemoDatabaseUnfit(
            "DATABASE_URL: the on-chain governance demo needs PostgreSQL (e.g. "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/riskgov make run GOVERNANCE_MODE=onchain): SQLite keeps "
            "15 significant digits of the chain's 18-decimal position and price amounts, and the indexer writes "
            "beside the workers"
        )


def demo_onchain_governance_settings() -> dict[str, int]:
    """In on-chain mode, before any Governor is deployed, give untouched governance settings the demo's short
    windows; returns what it set (empty: off-chain mode, a Governor already deployed, or settings a person
    changed, which are kept)."""
    if settings.RISKGOV_GOVERNANCE_MODE != GovernanceMode.ONCHAIN:
        return {}
    if ChainDeployment.objects.filter(governance_mode=GovernanceMode.ONCHAIN).exists():
        return {}  # its Governor keeps the settings it was deployed with
    config, _ = GovernanceSettings.objects.get_or_create(pk=1)
    untouched = GovernanceSettings()  # the field defaults
    defaults = {name: getattr(untouched, name) for name in DEMO_ONCHAIN_WINDOWS}
    current = {name: getattr(config, name) for name in DEMO_ONCHAIN_WINDOWS}
    if current == DEMO_ONCHAIN_WINDOWS or current != defaults:
        return {}
    for name, seconds in DEMO_ONCHAIN_WINDOWS.items():
        setattr(config, name, seconds)
    config.save(update_fields=[*DEMO_ONCHAIN_WINDOWS, "updated_at"])
    return dict(DEMO_ONCHAIN_WINDOWS)

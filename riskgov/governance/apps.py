from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks

GOVERNANCE_MODES = ("offchain", "onchain")


def governance_mode_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """RISKGOV_GOVERNANCE_MODE must name a mode; anything else would silently run off-chain."""
    mode = getattr(settings, "RISKGOV_GOVERNANCE_MODE", "offchain")
    if mode in GOVERNANCE_MODES:
        return []
    return [
        checks.Error(
            f"RISKGOV_GOVERNANCE_MODE is {mode!r}; it must be one of {', '.join(GOVERNANCE_MODES)}.",
            id="governance.E001",
        )
    ]


class GovernanceConfig(AppConfig):
    name = "riskgov.governance"
    label = "governance"
    verbose_name = "Governance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        checks.register(governance_mode_check, checks.Tags.compatibility)
        from chain.services.deployments import governor_spec_provider_set  # noqa: PLC0415 - imports models
        from riskgov.governance.services.onchain import governor_spec_from_settings  # noqa: PLC0415 - same

        # chain_deploy deploys the Governor with the app's governance settings without importing governance
        governor_spec_provider_set(governor_spec_from_settings)

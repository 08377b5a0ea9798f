"""The on-chain demo's short governance windows: set before the Governor is deployed, on untouched settings only."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from chain.models import ChainDeployment, GovernanceMode
from riskgov.demo.services.governance import DEMO_ONCHAIN_WINDOWS, demo_onchain_governance_settings
from riskgov.governance.models import GovernanceSettings

pytestmark = pytest.mark.django_db
DEFAULT_WINDOWS = {
    "voting_delay_seconds": 60,
    "voting_period_seconds": 3 * 24 * 3600,
    "timelock_seconds": 2 * 24 * 3600,
}


def _windows() -> dict[str, int]:
    config = GovernanceSettings.objects.get(pk=1)
    return {name: getattr(config, name) for name in DEMO_ONCHAIN_WINDOWS}


def test_onchain_demo_gets_short_windows_once(settings) -> None:
    settings.RISKGOV_GOVERNANCE_MODE = GovernanceMode.ONCHAIN
    assert demo_onchain_governance_settings() == DEMO_ONCHAIN_WINDOWS == _windows()
    assert DEMO_ONCHAIN_WINDOWS["voting_period_seconds"] <= 600 and DEMO_ONCHAIN_WINDOWS["timelock_seconds"] <= 300
    assert demo_onchain_governance_settings() == {}  # a second demo_prepare has nothing to do
    assert _windows() == DEMO_ONCHAIN_WINDOWS


def test_offchain_demo_keeps_the_defaults(settings) -> None:
    settings.RISKGOV_GOVERNANCE_MODE = GovernanceMode.OFFCHAIN
    GovernanceSettings.objects.get_or_create(pk=1)
    assert demo_onchain_governance_settings() == {} and _windows() == DEFAULT_WINDOWS


def test_settings_a_person_changed_are_kept(settings) -> None:
    settings.RISKGOV_GOVERNANCE_MODE = GovernanceMode.ONCHAIN
    GovernanceSettings.objects.update_or_create(pk=1, defaults={"voting_period_seconds": 7200})
    assert demo_onchain_governance_settings() == {}
    assert _windows() == {**DEFAULT_WINDOWS, "voting_period_seconds": 7200}


def test_a_deployed_governor_keeps_its_settings(settings) -> None:
    settings.RISKGOV_GOVERNANCE_MODE = GovernanceMode.ONCHAIN
    GovernanceSettings.objects.get_or_create(pk=1)
    ChainDeployment.objects.create(
        chain_id=31337, genesis_hash="0x" + "00" * 32, gov_token="0x" + "11" * 20, registry="0x" + "22" * 20,
        perp_market="0x" + "33" * 20, deployment_block=1, governance_mode=GovernanceMode.ONCHAIN,
        governor="0x" + "44" * 20, timelock="0x" + "55" * 20,
    )  # fmt: skip
    assert demo_onchain_governance_settings() == {} and _windows() == DEFAULT_WINDOWS


def test_demo_prepare_applies_them_after_seeding(settings, monkeypatch) -> None:
    settings.RISKGOV_GOVERNANCE_MODE = GovernanceMode.ONCHAIN
    calls: list[str] = []
    monkeypatch.setattr(
        "riskgov.demo.management.commands.demo_prepare.call_command", lambda name, **kwargs: calls.append(name)
    )
    from io import StringIO

    out = StringIO()
    call_command("demo_prepare", stdout=out)
    assert calls == ["migrate", "seed_demo"] and _windows() == DEMO_ONCHAIN_WINDOWS
    assert "voting opens after 30 s and lasts 600 s; the timelock holds a queued proposal 120 s" in out.getvalue()


def test_onchain_demo_refuses_sqlite_naming_the_setting(settings, monkeypatch) -> None:
    from django.core.management.base import CommandError

    from riskgov.demo.services import governance as demo_governance

    settings.RISKGOV_GOVERNANCE_MODE = GovernanceMode.ONCHAIN
    demo_governance.demo_onchain_database_check()  # the suite's PostgreSQL holds 78-digit ids
    monkeypatch.setattr(demo_governance.connection, "vendor", "sqlite")
    with pytest.raises(CommandError, match=r"^DATABASE_URL: the on-chain governance demo needs PostgreSQL"):
        call_command("demo_prepare")
    settings.RISKGOV_GOVERNANCE_MODE = GovernanceMode.OFFCHAIN
    demo_governance.demo_onchain_database_check()  # off-chain mode runs on SQLite

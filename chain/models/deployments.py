from __future__ import annotations

from django.db import models
from django.db.models import Q


class ContractRole(models.TextChoices):
    GOV_TOKEN = "gov_token", "Governance token"
    REGISTRY = "registry", "Parameter registry"
    PERP_MARKET = "perp_market", "Perpetual market"
    PRICE_FEED = "price_feed", "Price feed"
    GOVERNOR = "governor", "Governor"
    TIMELOCK = "timelock", "Timelock"


class GovernanceMode(models.TextChoices):
    """How a deployment's proposals settle: the app's tally and executor key, or a Governor and timelock."""

    OFFCHAIN = "offchain", "Off-chain (app tally, executor key)"
    ONCHAIN = "onchain", "On-chain (Governor and timelock)"


# Compiled artifact (ABI) of each role's contract.
ROLE_ARTIFACTS = {
    ContractRole.GOV_TOKEN: "GovToken",
    ContractRole.REGISTRY: "RiskParameterRegistry",
    ContractRole.PERP_MARKET: "PerpMarket",
    ContractRole.PRICE_FEED: "PriceFeed",
    ContractRole.GOVERNOR: "RiskGovernor",
    ContractRole.TIMELOCK: "RiskTimelock",
}


class ChainDeployment(models.Model):
    """The protocol's contracts on one chain. At most one deployment per chain id is active."""

    chain_id = models.PositiveBigIntegerField()
    genesis_hash = models.CharField(max_length=66, help_text="Hash of block 0: tells a reset node from the same one.")
    gov_token = models.CharField(max_length=42)
    registry = models.CharField(max_length=42)
    perp_market = models.CharField(max_length=42)
    price_feeds = models.JSONField(default=dict, help_text='Feed address per market symbol, {"ETH-USD": "0x…"}.')
    feed_decimals = models.JSONField(default=dict, help_text='decimals() per market symbol, {"ETH-USD": 8}.')
    deployment_block = models.PositiveBigIntegerField(help_text="First block of the deployment; indexing starts here.")
    governance_mode = models.CharField(
        max_length=8, choices=GovernanceMode.choices, default=GovernanceMode.OFFCHAIN,
        help_text="On-chain: a RiskGovernor and its timelock (which owns the registry) settle proposals.",
    )  # fmt: skip
    governor = models.CharField(max_length=42, blank=True, help_text="RiskGovernor (on-chain mode), else empty.")
    timelock = models.CharField(max_length=42, blank=True, help_text="RiskTimelock owning the registry (on-chain).")
    governor_config = models.JSONField(
        default=dict, blank=True, help_text="The Governor's settings at deployment (blocks, wei, quorum of 10000)."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["chain_id"], condition=Q(is_active=True), name="deployment_one_active_per_chain"
            )
        ]

    def __str__(self) -> str:
        state = "active" if self.is_active else "inactive"
        return f"chain {self.chain_id} from block {self.deployment_block} ({state})"

    def contract_addresses(self) -> list[tuple[str, str, str]]:
        """(role, address, market symbol or "") of every contract, in indexing order."""
        rows = [
            (ContractRole.GOV_TOKEN.value, self.gov_token, ""),
            (ContractRole.REGISTRY.value, self.registry, ""),
            (ContractRole.PERP_MARKET.value, self.perp_market, ""),
        ]
        rows += [
            (ContractRole.PRICE_FEED.value, address, symbol) for symbol, address in sorted(self.price_feeds.items())
        ]
        if self.governor:
            rows.append((ContractRole.GOVERNOR.value, self.governor, ""))
        if self.timelock:
            rows.append((ContractRole.TIMELOCK.value, self.timelock, ""))
        return rows

    @property
    def onchain_governance(self) -> bool:
        return self.governance_mode == GovernanceMode.ONCHAIN and bool(self.governor)


class IndexerCheckpoint(models.Model):
    """How far one contract's logs are indexed: the last block read and its hash (for reorg detection)."""

    deployment = models.ForeignKey(ChainDeployment, on_delete=models.CASCADE, related_name="checkpoints")
    role = models.CharField(max_length=16, choices=ContractRole.choices)
    address = models.CharField(max_length=42)
    market_symbol = models.CharField(max_length=32, blank=True, help_text='Price feeds only, e.g. "ETH-USD".')
    block_number = models.BigIntegerField(help_text="Last block whose logs are indexed.")
    block_hash = models.CharField(max_length=66, blank=True)
    events_indexed = models.PositiveBigIntegerField(default=0)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["deployment", "role", "market_symbol"]
        constraints = [
            models.UniqueConstraint(fields=["deployment", "address"], name="checkpoint_unique_contract"),
        ]

    def __str__(self) -> str:
        label = f"{self.role}:{self.market_symbol}" if self.market_symbol else self.role
        return f"{label} @ {self.block_number}"

    @property
    def label(self) -> str:
        return f"{self.get_role_display()} {self.market_symbol}".strip()

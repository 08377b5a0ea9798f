"""Token-holder governance: settings, proposals, parameter changes, signed votes, execution, sign-in.

Token amounts and voting power are wei of the governance token (integers, 1e18 per token) in
``Uint256Field`` columns, exact on every database. Voting delay, voting period, timelock and grace period are
seconds of server time (UTC); the snapshot is a block number on the configured chain.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from riskgov.core.models.fields import rate_field
from riskgov.core.models.uint256 import UINT256_DIGITS, Uint256Field
from riskgov.governance.domain.state import quorum_votes
from riskgov.markets.models.accounts import checksum_address, validate_address
from riskgov.markets.models.markets import Market
from riskgov.markets.models.parameters import PARAMETER_FIELDS, MarginParameters

WEI_DIGITS = UINT256_DIGITS  # a uint256 has at most 78 decimal digits


class ProposalState(models.TextChoices):
    PENDING = "pending", "Pending"
    ACTIVE = "active", "Active"
    CANCELED = "canceled", "Canceled"
    DEFEATED = "defeated", "Defeated"
    SUCCEEDED = "succeeded", "Succeeded"
    QUEUED = "queued", "Queued"
    VETOED = "vetoed", "Vetoed"
    EXPIRED = "expired", "Expired"
    EXECUTED = "executed", "Executed"


class GovernanceMode(models.TextChoices):
    """Where a proposal is settled: tallied by the app and applied by the executor key (off-chain), or on an
    OpenZeppelin Governor whose timelock owns the registry (on-chain)."""

    OFFCHAIN = "offchain", "Off-chain (app tally, executor key)"
    ONCHAIN = "onchain", "On-chain (Governor and timelock)"


class VoteSupportChoice(models.IntegerChoices):
    AGAINST = 0, "Against"
    FOR = 1, "For"
    ABSTAIN = 2, "Abstain"


class GovernanceSettings(models.Model):
    """The one row of governance settings; each proposal copies them at creation."""

    proposal_threshold = Uint256Field(
        default=Decimal(1000 * 10**18), help_text="Voting power (token wei) needed to create a proposal."
    )
    voting_delay_seconds = models.PositiveIntegerField(
        default=60, help_text="Seconds between creation and the start of voting."
    )
    voting_period_seconds = models.PositiveIntegerField(
        default=3 * 24 * 3600, validators=[MinValueValidator(1)], help_text="Seconds voting stays open."
    )
    quorum_fraction = rate_field(
        default=Decimal("0.04"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="Share of the total supply at the snapshot that For + Abstain must reach (0.04 = 4 %).",
    )
    timelock_seconds = models.PositiveIntegerField(
        default=2 * 24 * 3600, help_text="Seconds between queueing and the earliest execution."
    )
    grace_period_seconds = models.PositiveIntegerField(
        default=14 * 24 * 3600,
        validators=[MinValueValidator(1)],
        help_text="Seconds after the timelock within which a queued proposal must execute, else it expires.",
    )
    guardian_address = models.CharField(
        max_length=42, blank=True, validators=[validate_address], help_text="May veto queued proposals."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "riskgov_governancesettings"
        verbose_name = "governance settings"
        verbose_name_plural = "governance settings"
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="governance_settings_singleton")]

    def __str__(self) -> str:
        return "Governance settings"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = 1
        super().save(*args, **kwargs)


class Proposal(models.Model):
    """A proposal to change margin parameters. Its primary key is the public `proposalId` of ballots."""

    title = models.CharField(max_length=200)
    description = models.TextField(help_text="Markdown source.")
    description_html = models.TextField(help_text="Sanitised HTML rendered from the description.")
    discussion_url = models.URLField(
        max_length=500, blank=True, help_text="Where the proposal is discussed (forum thread), http or https."
    )
    proposer = models.CharField(max_length=42, validators=[validate_address], db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    # Frozen at creation: the chain, the ballot domain, the snapshot and a copy of the settings.
    chain_id = models.PositiveBigIntegerField()
    verifying_contract = models.CharField(max_length=42, validators=[validate_address])
    snapshot_block = models.PositiveBigIntegerField()
    total_supply = Uint256Field(help_text="Total supply at the snapshot block (token wei).")
    proposer_power = Uint256Field(help_text="Proposer's voting power at creation (token wei).")
    proposal_threshold = Uint256Field()
    quorum_fraction = rate_field()
    voting_delay_seconds = models.PositiveIntegerField()
    voting_period_seconds = models.PositiveIntegerField()
    timelock_seconds = models.PositiveIntegerField()
    grace_period_seconds = models.PositiveIntegerField()
    guardian_address = models.CharField(max_length=42, blank=True)
    voting_starts_at = models.DateTimeField()
    voting_ends_at = models.DateTimeField(help_text="End of voting; a late quorum moves it (see voting_extended_from).")
    # On-chain mode: the Governor is the ballots' verifying contract and its proposal id is what ballots sign.
    governance_mode = models.CharField(
        max_length=8, choices=GovernanceMode.choices, default=GovernanceMode.OFFCHAIN, db_index=True
    )
    ballot_domain_name = models.CharField(
        max_length=64, default="RiskGov", help_text="EIP-712 domain name of the ballots (the Governor's name on chain)."
    )
    ballot_domain_version = models.CharField(max_length=16, default="1", help_text="EIP-712 domain version.")
    onchain_proposal_id = Uint256Field(
        null=True, blank=True, unique=True,
        help_text="The Governor's proposal id (hashProposal of the payload); on-chain mode only.",
    )  # fmt: skip
    onchain_payload = models.JSONField(
        default=dict, blank=True,
        help_text="The propose(targets, values, calldatas, description) arguments as built after the guardrails.",
    )  # fmt: skip
    propose_tx_hash = models.CharField(max_length=66, blank=True, help_text="The proposer's propose transaction.")
    proposed_onchain_at = models.DateTimeField(
        null=True, blank=True, help_text="When the Governor's ProposalCreated for this payload was confirmed."
    )
    onchain_state = models.CharField(
        max_length=16, choices=ProposalState.choices, blank=True,
        help_text="The Governor's state() as last read; on-chain proposals take their state from it.",
    )  # fmt: skip
    onchain_synced_at = models.DateTimeField(null=True, blank=True)
    # Late-quorum protection (OpenZeppelin GovernorPreventLateQuorum), frozen at creation.
    vote_extension_seconds = models.PositiveIntegerField(
        default=0, help_text="Voting stays open at least this long after the vote that first reaches quorum."
    )
    quorum_reached_at = models.DateTimeField(
        null=True, blank=True, help_text="Time of the vote that first reached quorum (set once)."
    )
    voting_extended_from = models.DateTimeField(
        null=True, blank=True, help_text="The end scheduled at creation, when a late quorum extended voting past it."
    )

    # Running tally (token wei), kept in step with the votes by vote_cast.
    for_votes = Uint256Field(default=Decimal(0))
    against_votes = Uint256Field(default=Decimal(0))
    abstain_votes = Uint256Field(default=Decimal(0))
    vote_count = models.PositiveIntegerField(default=0)

    # Actions; the state is derived from these, time and the tally (riskgov.governance.domain.state).
    state = models.CharField(
        max_length=16,
        choices=ProposalState.choices,
        default=ProposalState.PENDING,
        help_text="Last persisted state; the derived state is authoritative.",
    )
    state_changed_at = models.DateTimeField(default=timezone.now)
    canceled_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    vetoed_at = models.DateTimeField(null=True, blank=True)
    vetoed_by = models.CharField(max_length=150, blank=True)
    veto_reason = models.TextField(blank=True)
    executed_at = models.DateTimeField(null=True, blank=True)
    execution_attempts = models.PositiveIntegerField(default=0)
    execution_error = models.TextField(blank=True)
    last_execution_attempt_at = models.DateTimeField(null=True, blank=True)

    # Impact preview: vectorised position figures and two coverage runs (current vs proposed).
    impact = models.JSONField(default=dict, blank=True)
    impact_computed_at = models.DateTimeField(null=True, blank=True)
    coverage_current = models.ForeignKey(
        "insurance.CoverageRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    coverage_proposed = models.ForeignKey(
        "insurance.CoverageRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    coverage_error = models.TextField(blank=True)

    class Meta:
        db_table = "riskgov_proposal"
        ordering = ["-pk"]
        indexes = [models.Index(fields=["state", "voting_ends_at"], name="proposal_state_end_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(voting_ends_at__gt=F("voting_starts_at")), name="proposal_window_order"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    @property
    def eta(self) -> Any:
        """Earliest execution time once queued (queued_at + timelock), else None."""
        return None if self.queued_at is None else self.queued_at + timedelta(seconds=self.timelock_seconds)

    @property
    def expires_at(self) -> Any:
        eta = self.eta
        return None if eta is None else eta + timedelta(seconds=self.grace_period_seconds)

    @property
    def is_onchain(self) -> bool:
        return self.governance_mode == GovernanceMode.ONCHAIN

    @property
    def ballot_proposal_id(self) -> int:
        """The `proposalId` ballots sign: the Governor's id on chain, else this row's primary key."""
        if self.governance_mode == GovernanceMode.ONCHAIN and self.onchain_proposal_id is not None:
            return int(self.onchain_proposal_id)
        return int(self.pk)

    @property
    def quorum(self) -> Decimal:
        """Votes (token wei) For + Abstain must reach: floor(total supply at the snapshot × quorum fraction)."""
        return Decimal(quorum_votes(self.total_supply, self.quorum_fraction))


class ParameterChange(models.Model):
    """One field of one market's parameters that a proposal changes; `old_value` as at creation."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="changes")
    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="proposed_changes")
    field = models.CharField(max_length=32, choices=[(f, f) for f in PARAMETER_FIELDS])
    old_value = models.DecimalField(max_digits=38, decimal_places=18, null=True, blank=True)
    new_value = models.DecimalField(max_digits=38, decimal_places=18, null=True, blank=True)

    class Meta:
        db_table = "riskgov_parameterchange"
        ordering = ["market__symbol", "field"]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "market", "field"], name="change_unique_field"),
        ]

    def __str__(self) -> str:
        return f"{self.market.symbol}.{self.field} → {self.new_value}"


class Vote(models.Model):
    """An accepted EIP-712 ballot. Public: anyone can recount from voter, support, nonce and signature."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="votes")
    voter = models.CharField(max_length=42, validators=[validate_address])
    support = models.PositiveSmallIntegerField(choices=VoteSupportChoice.choices)
    weight = Uint256Field(help_text="Voting power at the snapshot block (token wei).")
    nonce = models.PositiveBigIntegerField(help_text="The voter's nonce consumed by this ballot (VoterNonce).")
    signature = models.CharField(max_length=1024, help_text="0x-hex signature of the typed-data ballot.")
    reason = models.TextField(blank=True, help_text="Free text from the voter; signed when reason_signed.")
    reason_signed = models.BooleanField(
        default=False, help_text="The reason is part of the signed ExtendedBallot (older rows: not signed)."
    )
    submitted_by = models.CharField(max_length=42, blank=True, help_text="Signed-in relayer, if not the voter.")
    governor = models.CharField(
        max_length=42, blank=True, help_text="The Governor whose nonces the ballot uses (on-chain mode), else empty."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "riskgov_vote"
        ordering = ["proposal", "created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "voter"], name="vote_once_per_proposal"),
            # off-chain nonces are the app's; an on-chain ballot carries its Governor's nonces(), which that
            # Governor enforces (a nonce a reverted ballot did not use is signed again)
            models.UniqueConstraint(fields=["voter", "nonce"], condition=Q(governor=""), name="vote_nonce_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.voter} {self.get_support_display()} on #{self.proposal_id}"


class VoterNonce(models.Model):
    """The nonce a voter's next ballot must carry. It only increases (OpenZeppelin `Nonces`): it is consumed with
    the vote insert, so deleting a vote never hands an old nonce back nor locks the voter out."""

    voter = models.CharField(max_length=42, unique=True, validators=[validate_address])
    next_nonce = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "riskgov_voternonce"

    def __str__(self) -> str:
        return f"{self.voter} next nonce {self.next_nonce}"


class ProposalExecution(models.Model):
    """Execution of one market's changes: the registry push (tx) and the parameter version written."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="executions")
    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="+")
    registry_values = models.JSONField(
        default=dict, help_text="Target setParameters arguments as decimal strings of 1e18 integers."
    )
    tx_hash = models.CharField(max_length=66, blank=True)
    block_number = models.PositiveBigIntegerField(null=True, blank=True)
    registry_version = models.PositiveBigIntegerField(null=True, blank=True)
    pushed_at = models.DateTimeField(null=True, blank=True)
    parameters = models.OneToOneField(
        MarginParameters, on_delete=models.PROTECT, null=True, blank=True, related_name="execution"
    )

    class Meta:
        db_table = "riskgov_proposalexecution"
        ordering = ["proposal", "market__symbol"]
        constraints = [models.UniqueConstraint(fields=["proposal", "market"], name="execution_unique_market")]

    def __str__(self) -> str:
        return f"#{self.proposal_id} {self.market}"


class SiweNonce(models.Model):
    """A single-use Sign-In with Ethereum nonce."""

    value = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "riskgov_siwenonce"
        indexes = [models.Index(fields=["expires_at"], name="siwe_nonce_expiry_idx")]

    def __str__(self) -> str:
        return self.value


class StaffAddress(models.Model):
    """Links a staff account (Django auth) to the Ethereum address it acts as in governance."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="eth_address")
    address = models.CharField(max_length=42, unique=True, validators=[validate_address])

    class Meta:
        db_table = "riskgov_staffaddress"
        verbose_name = "staff address"
        verbose_name_plural = "staff addresses"

    def __str__(self) -> str:
        return f"{self.user} → {self.address}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.address = checksum_address(self.address)
        super().save(*args, **kwargs)

"""Delegation the server takes part in: gasless ``delegateBySig`` relays and signed delegate statements.

Delegation itself lives on the chain (ERC20Votes); the indexer's ``DelegationChange`` and
``VotingPowerCheckpoint`` rows are the record of who delegates to whom. What is kept here is what only the
server knows: a relayed signature and the relay's outcome, and the statements delegates signed.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from riskgov.core.models.uint256 import Uint256Field
from riskgov.markets.models.accounts import validate_address


class RelayStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SUCCEEDED = "succeeded", "Succeeded"
    REVERTED = "reverted", "Reverted"
    FAILED = "failed", "Failed"


class DelegationRelay(models.Model):
    """A holder's signed ``delegateBySig(delegatee, nonce, expiry, v, r, s)`` that the relayer account sends.

    ``nonce`` is the token's ``nonces(delegator)`` the signature commits to; ``expiry`` is a unix time in
    seconds. The outcome (transaction hash, revert reason or error) is written by the relay task.
    """

    chain_id = models.PositiveBigIntegerField()
    token = models.CharField(max_length=42, validators=[validate_address], help_text="The governance token.")
    delegator = models.CharField(max_length=42, validators=[validate_address], db_index=True)
    delegatee = models.CharField(max_length=42, validators=[validate_address])
    nonce = Uint256Field()
    expiry = models.PositiveBigIntegerField(help_text="Unix time (seconds) after which the signature is void.")
    signature = models.CharField(max_length=132, help_text="0x-hex r ‖ s ‖ v of the Delegation typed data.")
    status = models.CharField(max_length=16, choices=RelayStatus.choices, default=RelayStatus.QUEUED)
    relayer = models.CharField(max_length=42, blank=True, help_text="The account that sent the transaction.")
    tx_hash = models.CharField(max_length=66, blank=True)
    error = models.TextField(blank=True, help_text="Revert reason or failure, when it did not succeed.")
    submitted_by = models.CharField(max_length=42, blank=True, help_text="Signed-in address that submitted it.")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "token", "delegator", "nonce"], name="relay_once_per_nonce"),
        ]

    def __str__(self) -> str:
        return f"{self.delegator} -> {self.delegatee} (nonce {self.nonce}, {self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (RelayStatus.SUCCEEDED, RelayStatus.REVERTED, RelayStatus.FAILED)


class DelegateStatement(models.Model):
    """One signed version of a delegate's statement. The newest version is the one shown; older ones stay.

    The signature is EIP-712 ``DelegateStatement(address delegate,string statement,uint256 version,
    uint256 issuedAt)`` under the ballot domain; ``issued_at`` is the signed unix time (seconds).
    """

    chain_id = models.PositiveBigIntegerField()
    delegate = models.CharField(max_length=42, validators=[validate_address])
    version = models.PositiveIntegerField()
    statement = models.TextField(help_text="Markdown source, as signed.")
    statement_html = models.TextField(help_text="Sanitised HTML rendered from the statement.")
    issued_at = models.PositiveBigIntegerField(help_text="Signed unix time (seconds).")
    signature = models.CharField(max_length=1024)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["delegate", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "delegate", "version"], name="statement_version_unique"),
        ]
        indexes = [models.Index(fields=["delegate", "-version"], name="statement_latest_idx")]

    def __str__(self) -> str:
        return f"{self.delegate} statement v{self.version}"

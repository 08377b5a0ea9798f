"""Errors raised by the chain layer; all derive from :class:`ChainError`."""

from __future__ import annotations

from typing import Any


class ChainError(Exception):
    """Base class for chain-layer failures."""


class ChainIdMismatch(ChainError):
    """The node serves a different chain than the one configured."""

    def __init__(self, *, reported: int, configured: int) -> None:
        self.reported = reported
        self.configured = configured
        super().__init__(f"CHAIN_ID mismatch: node reports {reported}, configured {configured}")


class ChainUnavailable(ChainError):
    """The node could not be reached or kept failing transiently after every retry."""


class ContractReverted(ChainError):
    """A call or transaction reverted; ``error`` is the decoded custom error (or "Error"/"Panic")."""

    def __init__(self, *, error: str, args: dict[str, Any], data: str, message: str | None = None) -> None:
        self.error = error
        self.args_by_name = args
        self.data = data
        super().__init__(message or f"reverted with {error}")


class TransactionFailed(ChainError):
    """A mined transaction has status 0 (it reverted after being included)."""

    def __init__(self, tx_hash: str) -> None:
        self.tx_hash = tx_hash
        super().__init__(f"transaction {tx_hash} reverted on chain (receipt status 0)")


class ArtifactNotFound(ChainError, LookupError):
    """No compiled artifact with that contract name."""


class AnvilError(ChainError):
    """The local Anvil node could not be found or started."""

"""Chain configuration from Django settings: the JSON-RPC client and the executor account.

The executor key comes from the environment (``CHAIN_EXECUTOR_KEY``) and is never stored in the
database; in demo mode on Anvil's dev chain (31337), Anvil's first dev account stands in for it.
"""

from __future__ import annotations

from django.conf import settings
from eth_account import Account
from eth_account.signers.local import LocalAccount

from chain.anvil import DEV_CHAIN_ID
from chain.client import ChainClient, RetryPolicy
from chain.deploy import DemoAccounts
from chain.errors import ChainError


class ExecutorKeyError(ChainError):
    """``CHAIN_EXECUTOR_KEY`` is missing, malformed, or not the account the deployment expects."""


def demo_mode() -> bool:
    return bool(getattr(settings, "RISKGOV_DEMO_MODE", False))


def dev_keys_allowed() -> bool:
    """Demo mode on Anvil's dev chain: the only place Anvil's publicly known dev keys may sign."""
    return demo_mode() and settings.CHAIN_ID == DEV_CHAIN_ID


def parse_executor_key(key: str) -> LocalAccount:
    """A local account from a hex private key; raises :class:`ExecutorKeyError` without echoing the key."""
    try:
        return Account.from_key(key.strip())
    except (ValueError, TypeError) as error:
        raise ExecutorKeyError(
            "CHAIN_EXECUTOR_KEY is not a valid private key (expected 32 bytes as 64 hex digits, 0x optional)"
        ) from error


def executor_account() -> LocalAccount:
    """The account that deploys the protocol and owns the parameter registry.

    ``CHAIN_EXECUTOR_KEY`` when set; otherwise Anvil's dev account 0, but only in demo mode on the dev
    chain. Raises :class:`ExecutorKeyError` with the fix when neither applies.
    """
    if settings.CHAIN_EXECUTOR_KEY:
        return parse_executor_key(settings.CHAIN_EXECUTOR_KEY)
    if dev_keys_allowed():
        return DemoAccounts.from_mnemonic(0).deployer
    raise ExecutorKeyError(
        "CHAIN_EXECUTOR_KEY is not set: export the executor's private key (Anvil's dev key is only used "
        f"in demo mode on chain {DEV_CHAIN_ID})"
    )


def chain_client(rpc_url: str | None = None, *, retry: RetryPolicy | None = None, timeout: float = 10.0) -> ChainClient:
    """A client for ``rpc_url`` (default ``CHAIN_RPC_URL``) checked against ``CHAIN_ID``.

    Raises :class:`~chain.errors.ChainIdMismatch` when the node serves another chain and
    :class:`~chain.errors.ChainUnavailable` when it cannot be reached after the retries.
    """
    return ChainClient.connect(
        rpc_url or settings.CHAIN_RPC_URL,
        chain_id=settings.CHAIN_ID,
        timeout=timeout,
        retry=retry or RetryPolicy(),
    )


def executor_check(client: ChainClient, *, registry: str) -> LocalAccount:
    """The executor account, after checking it owns the parameter registry at ``registry``.

    Raises :class:`ExecutorKeyError` naming both addresses when another account owns it (executed
    proposals could not reach the chain) or when no executor key is configured.
    """
    executor = executor_account()
    owner = client.call(client.contract("RiskParameterRegistry", registry).functions.owner())
    if str(owner).lower() != executor.address.lower():
        raise ExecutorKeyError(
            f"CHAIN_EXECUTOR_KEY is the key of {executor.address}, but the registry at {registry} is owned by "
            f"{owner}: set the key of the registry's owner"
        )
    return executor

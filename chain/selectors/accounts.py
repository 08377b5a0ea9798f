"""Account state read from the node (not the index): native balances, for the relayer's gas."""

from __future__ import annotations

from django.conf import settings
from web3 import Web3

from chain.client import ChainClient, RetryPolicy


def native_balance(address: str, *, rpc_url: str | None = None, timeout: float = 2.0) -> int:
    """The account's balance in wei at the latest block; one quick attempt (raises ChainError when the node
    cannot be reached, so a caller can treat the figure as unknown)."""
    client = ChainClient.connect(
        rpc_url or settings.CHAIN_RPC_URL, chain_id=settings.CHAIN_ID, timeout=timeout, retry=RetryPolicy(attempts=1)
    )
    return int(client.w3.eth.get_balance(Web3.to_checksum_address(address)))

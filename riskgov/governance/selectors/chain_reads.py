"""What governance reads from the chain: the deployment, the head block and voting power.

Voting power and supply come from ``chain.selectors.voting`` (token wei, as ``getPastVotes`` /
``getPastTotalSupply``); this module is the one place governance touches the chain layer, so tests
can replace it and the services never build clients of their own.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

from django.conf import settings
from django.db import connection
from django.db.models import Q
from web3 import Web3
from web3.exceptions import Web3Exception

from chain.client import ChainClient, RetryPolicy
from chain.conf import chain_client as connect
from chain.errors import ChainError
from chain.models import ChainDeployment, ContractRole, IndexerCheckpoint, VotingPowerCheckpoint
from chain.selectors.deployments import active_deployment
from chain.selectors.voting import delegation_status, latest_indexed_block, total_supply, voting_power
from riskgov.governance.errors import ChainNotConfigured


@dataclass(frozen=True)
class GovernanceChain:
    """The deployment ballots are bound to: EIP-712 `chainId` and `verifyingContract` (the registry off-chain,
    the Governor on chain). `governor` and `timelock` are empty when the deployment has no Governor."""

    chain_id: int
    registry: str
    gov_token: str
    governor: str = ""
    timelock: str = ""


@lru_cache(maxsize=4)
def _client(rpc_url: str, chain_id: int) -> ChainClient:
    return connect(rpc_url, retry=RetryPolicy(attempts=3))


def chain_client() -> ChainClient:
    """A client for CHAIN_RPC_URL, checked against CHAIN_ID once per process."""
    return _client(settings.CHAIN_RPC_URL, settings.CHAIN_ID)


def governance_chain() -> GovernanceChain:
    """The active deployment on CHAIN_ID; raises ChainNotConfigured when none is recorded."""
    deployment = active_deployment()
    if deployment is None:
        raise ChainNotConfigured(
            "chain_not_configured",
            f"No contracts are recorded for chain {settings.CHAIN_ID}; deploy them first (manage.py chain_deploy).",
        )
    governor, timelock = getattr(deployment, "governor", "") or "", getattr(deployment, "timelock", "") or ""
    return GovernanceChain(
        chain_id=int(deployment.chain_id),
        registry=Web3.to_checksum_address(deployment.registry),
        gov_token=Web3.to_checksum_address(deployment.gov_token),
        governor=Web3.to_checksum_address(governor) if governor else "",
        timelock=Web3.to_checksum_address(timelock) if timelock else "",
    )


def latest_block() -> int:
    """The newest block whose token events are indexed: the snapshot a new proposal takes."""
    return int(latest_indexed_block())


def voting_power_at(address: str, block: int) -> int:
    """Votes (token wei) delegated to `address` at the end of `block` (getPastVotes)."""
    return int(voting_power(Web3.to_checksum_address(address), block))


def snapshot_voting_power(address: str, block: int) -> int:
    """Voting power at a proposal's snapshot block (already indexed when the proposal was created), in one query.

    The token checkpoint row is looked up once per minute per process; a block past it still goes through
    voting_power_at, which refuses blocks the indexer has not reached.
    """
    checkpoint_id, indexed_to = _token_checkpoint(int(time.monotonic() // 60))
    if checkpoint_id is None or block > indexed_to:
        return voting_power_at(address, block)
    with connection.cursor() as cursor:  # the hot path of every vote: one indexed lookup, no ORM compile
        cursor.execute(
            # the table name comes from the model; every value is a query parameter
            f"SELECT votes FROM {VotingPowerCheckpoint._meta.db_table} WHERE checkpoint_id = %s AND delegatee = %s "  # noqa: S608
            "AND block_number <= %s ORDER BY block_number DESC, log_index DESC LIMIT 1",
            [checkpoint_id, address, block],
        )
        row = cursor.fetchone()
    votes = None if row is None else row[0]
    if votes is None:  # none found: ask the authoritative selector (also covers a replaced deployment)
        return voting_power_at(address, block)
    return int(votes)


@lru_cache(maxsize=2)
def _token_checkpoint(minute: int) -> tuple[int | None, int]:
    row = (
        IndexerCheckpoint.objects.filter(deployment=active_deployment(), role=ContractRole.GOV_TOKEN)
        .values_list("pk", "block_number")
        .first()
    )
    return (None, 0) if row is None else (int(row[0]), int(row[1]))


def voting_powers_at(addresses: Iterable[str], block: int) -> dict[str, int]:
    """Voting power of many checksummed addresses at `block` (token wei); on PostgreSQL one query per 5,000."""
    unique: list[str] = sorted(set(addresses))
    if not unique:
        return {}
    first = voting_power_at(unique[0], block)  # raises while the deployment or the block is not indexed
    if connection.vendor != "postgresql":
        return {address: voting_power_at(address, block) for address in unique}
    checkpoint = IndexerCheckpoint.objects.get(deployment=active_deployment(), role=ContractRole.GOV_TOKEN)
    powers: dict[str, int] = dict.fromkeys(unique, 0)
    powers[unique[0]] = first
    for start in range(0, len(unique), 5000):
        rows = (
            VotingPowerCheckpoint.objects.filter(
                checkpoint=checkpoint, delegatee__in=unique[start : start + 5000], block_number__lte=block
            )
            .order_by("delegatee", "-block_number", "-log_index")
            .distinct("delegatee")
            .values_list("delegatee", "votes")
        )
        powers.update({delegatee: int(votes) for delegatee, votes in rows})
    return powers


CHAIN_BATCH_SIZE = 200  # getPastVotes calls per JSON-RPC batch request


def ballot_gov_token(*, chain_id: int, registry: str) -> str | None:
    """The governance token deployed with `registry` (a proposal's verifying contract: the registry off-chain, the
    Governor on chain) on `chain_id`, or None."""
    row = (
        ChainDeployment.objects.filter(Q(registry__iexact=registry) | Q(governor__iexact=registry), chain_id=chain_id)
        .order_by("-is_active", "-created_at")
        .values_list("gov_token", flat=True)
        .first()
    )
    return None if row is None else Web3.to_checksum_address(row)


def chain_voting_powers_at(addresses: Iterable[str], block: int, *, gov_token: str) -> dict[str, int]:
    """``getPastVotes(address, block)`` of each address read from the node itself (token wei), not the indexer,
    in JSON-RPC batch requests of CHAIN_BATCH_SIZE calls. Raises ChainError when no node is configured or it
    cannot be reached, or when a call fails (e.g. the block is not yet in the past)."""
    if not settings.CHAIN_RPC_URL:
        raise ChainError("no chain node is configured (CHAIN_RPC_URL is empty)")
    client = chain_client()
    token = client.contract("GovToken", gov_token)
    unique = sorted({Web3.to_checksum_address(address) for address in addresses})
    powers: dict[str, int] = {}
    for start in range(0, len(unique), CHAIN_BATCH_SIZE):
        part = unique[start : start + CHAIN_BATCH_SIZE]
        try:
            with client.w3.batch_requests() as batch:
                for address in part:
                    batch.add(token.functions.getPastVotes(address, block))
                results = batch.execute()
        except (Web3Exception, ValueError) as exc:  # a reverted call, an error reply, a malformed batch
            raise ChainError(f"getPastVotes at block {block} failed on the node: {exc}") from exc
        powers.update({address: int(cast(int, votes)) for address, votes in zip(part, results, strict=True)})
    return powers


def total_supply_at(block: int) -> int:
    """Total token supply (wei) at the end of `block`."""
    return int(total_supply(block))


def delegation_of(address: str) -> Any:
    """Balance, votes and delegate of `address` (chain.selectors.voting.DelegationStatus)."""
    return delegation_status(Web3.to_checksum_address(address))


def ballot_web3() -> Web3 | None:
    """A Web3 for ERC-1271 checks of contract-wallet signatures; None when no node is configured (CHAIN_RPC_URL
    empty). Raises ChainError when the configured node is unreachable: the caller says "cannot verify now"."""
    if not settings.CHAIN_RPC_URL:
        return None
    return chain_client().w3

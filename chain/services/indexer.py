"""The log indexer: per contract, block ranges up to head − confirmations, one transaction per range.

For each range the indexer

1. locks the contract's checkpoint row (``SELECT … FOR UPDATE SKIP LOCKED``: an overlapping run of the
   same contract skips instead of doing the work twice);
2. checks the checkpoint still lies on the canonical chain — the stored hash equals the chain's block
   hash at that number, and the next block's parent hash is the stored hash. On a mismatch it walks
   back through the blocks it holds events from to the newest one the chain still has (the common
   ancestor), deletes what the orphaned blocks wrote, recomputes the positions and prices they
   touched, and continues from the ancestor;
3. reads ``eth_getLogs`` for the range, decodes, upserts by (tx hash, log index), writes the domain
   rows, and moves the checkpoint to the range's last block and hash — all in the same transaction.

An RPC failure anywhere rolls the range back: the checkpoint stays where it was and the error is
recorded on it (in a separate transaction) for the status page. Re-reading a range writes the same
rows again, so duplicate delivery changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chain.client import ChainClient
from chain.conf import chain_client
from chain.errors import ChainError
from chain.events import DecodedLog, EventDecoder
from chain.models import ROLE_ARTIFACTS, ChainDeployment, ChainEvent, ContractRole, IndexerCheckpoint
from chain.selectors.deployments import active_deployment, deployment_checkpoints
from chain.services.liquidations import liquidations_project, liquidations_rollback
from chain.services.projections import events_store, logs_project, rows_rollback

logger = logging.getLogger(__name__)

# Failures that leave a range unwritten and are recorded on the checkpoint (the next run retries).
RANGE_ERRORS: tuple[type[BaseException], ...] = (ChainError, requests.RequestException, ValueError, KeyError)


class ReorgDuringRead(ChainError):
    """The range's last block changed while its logs were read; the range is read again next time."""


@dataclass(frozen=True)
class IndexerConfig:
    """``block_range`` blocks per ``eth_getLogs``; stay ``confirmations`` blocks behind the head."""

    block_range: int = 2000
    confirmations: int = 0

    @classmethod
    def from_settings(cls) -> IndexerConfig:
        return cls(block_range=settings.CHAIN_INDEXER_BLOCK_RANGE, confirmations=settings.CHAIN_CONFIRMATIONS)


@dataclass
class CheckpointRun:
    """What one run did for one contract."""

    checkpoint_id: int
    label: str
    start_block: int
    end_block: int
    ranges: int = 0
    events: int = 0
    rollbacks: list[int] = field(default_factory=list)  # common ancestors walked back to
    orphaned_events: int = 0
    skipped: bool = False  # another run held the lock
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class BlockRef:
    number: int
    hash: str
    parent_hash: str
    timestamp: int


def _block(client: ChainClient, number: int) -> BlockRef | None:
    raw = client.rpc("eth_getBlockByNumber", hex(number), False)
    if raw is None:
        return None
    return BlockRef(
        number=int(raw["number"], 16),
        hash=raw["hash"],
        parent_hash=raw["parentHash"],
        timestamp=int(raw["timestamp"], 16),
    )


def _logs(client: ChainClient, address: str, start: int, end: int) -> list[dict[str, Any]]:
    return list(client.rpc("eth_getLogs", {"address": address, "fromBlock": hex(start), "toBlock": hex(end)}) or [])


# Entry points ---------------------------------------------------------------------------------------------


def contract_index(
    *,
    role: str,
    client: ChainClient | None = None,
    config: IndexerConfig | None = None,
    max_ranges: int | None = None,
) -> list[CheckpointRun]:
    """Index every contract of ``role`` in the active deployment; one :class:`CheckpointRun` each.

    Does nothing before ``chain_deploy`` has recorded a deployment. Errors are recorded on the
    checkpoints and returned, not raised, so one failing contract never stops the others.
    """
    deployment = active_deployment()
    if deployment is None:
        return []
    return _index_checkpoints(
        deployment_checkpoints(deployment=deployment, role=ContractRole(role).value),
        client=client,
        config=config,
        max_ranges=max_ranges,
    )


def deployment_index(
    *,
    deployment: ChainDeployment,
    client: ChainClient | None = None,
    config: IndexerConfig | None = None,
    max_ranges: int | None = None,
) -> list[CheckpointRun]:
    """Index every contract of ``deployment`` (token, registry, market, feeds) up to the target block."""
    return _index_checkpoints(
        deployment_checkpoints(deployment=deployment), client=client, config=config, max_ranges=max_ranges
    )


def _index_checkpoints(
    checkpoints: list[IndexerCheckpoint],
    *,
    client: ChainClient | None,
    config: IndexerConfig | None,
    max_ranges: int | None,
) -> list[CheckpointRun]:
    if not checkpoints:
        return []
    config = config or IndexerConfig.from_settings()
    if client is None:
        try:
            client = chain_client()
        except RANGE_ERRORS as error:
            runs = []
            for checkpoint in checkpoints:
                _record_error(checkpoint.pk, error)
                runs.append(_run_for(checkpoint, error=_describe(error)))
            return runs
    return [
        checkpoint_index(checkpoint_id=checkpoint.pk, client=client, config=config, max_ranges=max_ranges)
        for checkpoint in checkpoints
    ]


def checkpoint_index(
    *, checkpoint_id: int, client: ChainClient, config: IndexerConfig, max_ranges: int | None = None
) -> CheckpointRun:
    """Index one contract range by range until it reaches head − confirmations (or ``max_ranges``)."""
    checkpoint = IndexerCheckpoint.objects.select_related("deployment").get(pk=checkpoint_id)
    run = _run_for(checkpoint)
    try:
        target = client.block_number - config.confirmations
        while max_ranges is None or run.ranges < max_ranges:
            if not _range_index(checkpoint_id, client=client, config=config, target=target, run=run):
                break
    except RANGE_ERRORS as error:
        run.error = _describe(error)
        _record_error(checkpoint_id, error)
        logger.warning("indexing %s stopped at block %d: %s", run.label, run.end_block, run.error)
    return run


# One range --------------------------------------------------------------------------------------------------


def _range_index(
    checkpoint_id: int, *, client: ChainClient, config: IndexerConfig, target: int, run: CheckpointRun
) -> bool:
    """Index the next range in one transaction; ``False`` when there is nothing (more) to do."""
    with transaction.atomic():
        checkpoint = (
            IndexerCheckpoint.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("deployment")
            .filter(pk=checkpoint_id)
            .first()
        )
        if checkpoint is None:
            run.skipped = True
            return False
        _rewind_if_reorged(checkpoint, client=client, run=run)
        if checkpoint.block_number >= target:
            _mark_success(checkpoint)
            run.end_block = checkpoint.block_number
            return False
        start = checkpoint.block_number + 1
        end = min(target, start + config.block_range - 1)
        end_block = _block(client, end)
        if end_block is None:
            raise ReorgDuringRead(f"block {end} disappeared before its logs were read")
        decoder = EventDecoder.for_contract(ROLE_ARTIFACTS[ContractRole(checkpoint.role)])
        logs = decoder.decode_all(_logs(client, checkpoint.address, start, end))
        _check_unchanged(client, end_block, logs)
        if checkpoint.role == ContractRole.PERP_MARKET:
            logs = _with_timestamps(client, logs)
        events_store(checkpoint, logs)
        logs_project(checkpoint, logs)
        liquidations_project(checkpoint, logs)
        checkpoint.block_number = end
        checkpoint.block_hash = end_block.hash
        checkpoint.events_indexed += len(logs)
        _mark_success(checkpoint)
        run.ranges += 1
        run.events += len(logs)
        run.end_block = end
        return end < target


def _mark_success(checkpoint: IndexerCheckpoint) -> None:
    checkpoint.last_error = ""
    checkpoint.last_error_at = None
    checkpoint.last_success_at = timezone.now()
    checkpoint.save()


def _check_unchanged(client: ChainClient, end_block: BlockRef, logs: list[DecodedLog]) -> None:
    """The logs must come from the same chain as ``end_block``, which must still be canonical."""
    if any(log.block_number == end_block.number and log.block_hash != end_block.hash for log in logs):
        raise ReorgDuringRead(f"block {end_block.number} changed while its logs were read")
    again = _block(client, end_block.number)
    if again is None or again.hash != end_block.hash:
        raise ReorgDuringRead(f"block {end_block.number} changed while its logs were read")


def _with_timestamps(client: ChainClient, logs: list[DecodedLog]) -> list[DecodedLog]:
    """Fill block timestamps for nodes whose logs do not carry ``blockTimestamp`` (one call per block)."""
    missing = sorted({log.block_number for log in logs if log.block_timestamp is None})
    if not missing:
        return logs
    times: dict[int, int] = {}
    for number in missing:
        block = _block(client, number)
        if block is None:
            raise ReorgDuringRead(f"block {number} disappeared while its logs were read")
        times[number] = block.timestamp
    return [replace(log, block_timestamp=times.get(log.block_number, log.block_timestamp)) for log in logs]


# Reorgs ---------------------------------------------------------------------------------------------------


def _on_chain(client: ChainClient, number: int, block_hash: str) -> bool:
    block = _block(client, number)
    return block is not None and block.hash == block_hash


def _rewind_if_reorged(checkpoint: IndexerCheckpoint, *, client: ChainClient, run: CheckpointRun) -> None:
    """Roll ``checkpoint`` back to the common ancestor when its block is no longer canonical."""
    if not checkpoint.block_hash:
        return
    stored = _block(client, checkpoint.block_number)
    following = _block(client, checkpoint.block_number + 1)
    if (
        stored is not None
        and stored.hash == checkpoint.block_hash
        and (following is None or following.parent_hash == checkpoint.block_hash)
    ):
        return
    number, block_hash = _common_ancestor(checkpoint, client=client)
    liquidations_rollback(checkpoint, after_block=number)  # reads the orphaned events rows_rollback deletes
    orphaned = rows_rollback(checkpoint, after_block=number)
    logger.warning(
        "reorg under %s: block %d no longer canonical; rolled back to %d (%d events removed)",
        checkpoint,
        checkpoint.block_number,
        number,
        orphaned,
    )
    checkpoint.block_number = number
    checkpoint.block_hash = block_hash
    run.rollbacks.append(number)
    run.orphaned_events += orphaned


def _common_ancestor(checkpoint: IndexerCheckpoint, *, client: ChainClient) -> tuple[int, str]:
    """The newest block the index holds events from that the chain still has; else the block before
    the deployment. A matching hash vouches for every block below it, so the walk stops at the first."""
    known = (
        ChainEvent.objects.filter(checkpoint=checkpoint, block_number__lt=checkpoint.block_number)
        .values_list("block_number", "block_hash")
        .order_by("-block_number")
        .distinct()
    )
    for number, block_hash in known.iterator(chunk_size=200):
        if _on_chain(client, number, block_hash):
            return number, block_hash
    floor = max(checkpoint.deployment.deployment_block - 1, 0)
    block = _block(client, floor)
    if block is None:
        raise ChainError(f"block {floor} (before the deployment) is missing: the chain was reset; run chain_deploy")
    return floor, block.hash


# Errors -----------------------------------------------------------------------------------------------------


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


def _record_error(checkpoint_id: int, error: BaseException) -> None:
    IndexerCheckpoint.objects.filter(pk=checkpoint_id).update(
        last_error=_describe(error), last_error_at=timezone.now(), updated_at=timezone.now()
    )


def _run_for(checkpoint: IndexerCheckpoint, *, error: str = "") -> CheckpointRun:
    return CheckpointRun(
        checkpoint_id=checkpoint.pk,
        label=str(checkpoint.label),
        start_block=checkpoint.block_number,
        end_block=checkpoint.block_number,
        error=error,
    )


__all__ = [
    "CheckpointRun",
    "IndexerConfig",
    "ReorgDuringRead",
    "checkpoint_index",
    "contract_index",
    "deployment_index",
]

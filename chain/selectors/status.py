"""The indexer's state for the staff status page: checkpoints, the chain head and the lag."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from chain.client import ChainClient, RetryPolicy, redact_url
from chain.errors import ChainError
from chain.models import ChainDeployment, IndexerCheckpoint
from chain.selectors.deployments import active_deployment, deployment_checkpoints


@dataclass(frozen=True)
class CheckpointStatus:
    checkpoint: IndexerCheckpoint
    lag: int | None  # blocks behind the head; None when the head is unknown

    @property
    def healthy(self) -> bool:
        return not self.checkpoint.last_error


@dataclass(frozen=True)
class IndexerStatus:
    chain_id: int
    rpc_url: str  # scheme, host and port only
    deployment: ChainDeployment | None
    head: int | None
    head_error: str
    confirmations: int
    checkpoints: list[CheckpointStatus]

    @property
    def max_lag(self) -> int | None:
        lags = [row.lag for row in self.checkpoints if row.lag is not None]
        return max(lags) if lags else None


def chain_head(rpc_url: str | None = None, *, timeout: float = 2.0) -> int:
    """The node's latest block number; one quick attempt (a status page must not hang on a dead node)."""
    client = ChainClient.connect(
        rpc_url or settings.CHAIN_RPC_URL, chain_id=settings.CHAIN_ID, timeout=timeout, retry=RetryPolicy(attempts=1)
    )
    return client.block_number


def indexer_status() -> IndexerStatus:
    deployment = active_deployment()
    checkpoints = deployment_checkpoints(deployment=deployment) if deployment is not None else []
    head: int | None = None
    head_error = ""
    try:
        head = chain_head()
    except ChainError as error:
        head_error = str(error)
    return IndexerStatus(
        chain_id=settings.CHAIN_ID,
        rpc_url=redact_url(settings.CHAIN_RPC_URL),
        deployment=deployment,
        head=head,
        head_error=head_error,
        confirmations=settings.CHAIN_CONFIRMATIONS,
        checkpoints=[
            CheckpointStatus(checkpoint=cp, lag=max(head - cp.block_number, 0) if head is not None else None)
            for cp in checkpoints
        ],
    )

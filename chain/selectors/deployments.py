"""Reading deployments and indexer checkpoints."""

from __future__ import annotations

from django.conf import settings

from chain.models import ChainDeployment, IndexerCheckpoint


def active_deployment(*, chain_id: int | None = None) -> ChainDeployment | None:
    """The active deployment on ``chain_id`` (default ``CHAIN_ID``), or ``None`` before ``chain_deploy``."""
    chain = settings.CHAIN_ID if chain_id is None else chain_id
    return ChainDeployment.objects.filter(chain_id=chain, is_active=True).first()


def deployment_checkpoints(*, deployment: ChainDeployment, role: str | None = None) -> list[IndexerCheckpoint]:
    """The deployment's checkpoints (one per contract), optionally of one role, in indexing order."""
    checkpoints = IndexerCheckpoint.objects.filter(deployment=deployment)
    if role is not None:
        checkpoints = checkpoints.filter(role=role)
    return list(checkpoints.order_by("role", "market_symbol", "pk"))

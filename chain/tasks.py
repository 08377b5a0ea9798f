from typing import Any

from celery import shared_task

from chain.services.indexer import contract_index


@shared_task(name="chain.index_contract", soft_time_limit=240, time_limit=300, ignore_result=False)
def index_contract(*, role: str) -> list[dict[str, Any]]:
    """Index the active deployment's ``role`` contracts (beat, every 15 s). Overlapping runs skip a
    contract whose checkpoint is locked; failures are recorded on the checkpoint and retried next tick."""
    return [run.as_dict() for run in contract_index(role=role)]

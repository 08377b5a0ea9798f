from typing import Any

from celery import shared_task

from chain.services.indexer import contract_index


@shared_task(name="chain.index_contract", soft_time_limit=240, time_limit=300)
def index_contract(*, role: str) -> dict[str, Any]:
    """Index the active deployment's ``role`` contracts (beat, every 15 s). Overlapping runs skip a
    contract whose checkpoint is locked; failures are recorded on the checkpoint and retried next tick."""
    runs = contract_index(role=role)
    return {
        "role": role,
        "events": sum(run.events for run in runs),
        "blocks": {run.label: run.end_block for run in runs},
        "skipped": [run.label for run in runs if run.skipped],
        "rollbacks": {run.label: run.rollbacks for run in runs if run.rollbacks},
        "errors": {run.label: run.error for run in runs if run.error},
    }

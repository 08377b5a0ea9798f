"""On-chain mode's wallet endpoints (JSON): the transaction a wallet sends for propose / queue / execute (after a
simulation that shows a revert instead), the proposer's propose receipt, and a refresh from the chain.

None of them needs a session: the wallet's own transaction is the authorisation, and the server only reads the
chain. Refusals are the API shape {"error": {code, message, field}}.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET, require_POST

from chain.errors import ChainError
from chain.selectors.deployments import active_deployment
from chain.services.indexer import deployment_index
from riskgov.core.errors import error_body
from riskgov.core.json_input import json_body_bounded
from riskgov.core.ratelimit import rate_limited
from riskgov.governance.errors import ActionNotAllowed, GovernanceError
from riskgov.governance.models import Proposal
from riskgov.governance.selectors import chain_reads
from riskgov.governance.services.onchain import (
    proposal_onchain_sync,
    proposal_onchain_transaction,
    proposal_propose_confirm,
)
from riskgov.governance.views.auth import _error, _json_body  # the wallet endpoints answer alike


def _chain_error(exc: ChainError) -> JsonResponse:
    return JsonResponse(
        error_body(code="chain_unavailable", message=f"the chain cannot be read now: {exc}"), status=503
    )


@require_GET
def onchain_transaction(request: HttpRequest, proposal_id: int) -> JsonResponse:
    """?action=propose|queue|execute&from=0x…: {to, data, value, preflight: {reverts, error, message}}."""
    try:
        tx = proposal_onchain_transaction(
            proposal_id=get_object_or_404(Proposal, pk=proposal_id).pk,
            action=request.GET.get("action", ""),
            sender=request.GET.get("from", ""),
        )
    except GovernanceError as error:
        return _error(error)
    except ChainError as exc:
        return _chain_error(exc)
    return JsonResponse(tx.as_dict())


def _state(proposal: Proposal) -> JsonResponse:
    return JsonResponse({"state": proposal.state, "proposal_id": str(proposal.ballot_proposal_id)})


def _index() -> None:
    """Bring the indexer up to the head, so the page's tally and the parameter versions follow at once."""
    deployment = active_deployment()
    if deployment is not None:
        deployment_index(deployment=deployment, client=chain_reads.chain_client())


@require_POST
@json_body_bounded
@rate_limited("recount")
def onchain_proposed(request: HttpRequest, proposal_id: int) -> JsonResponse:
    """{tx_hash}: the proposer's propose transaction; recorded once its receipt creates exactly this proposal."""
    get_object_or_404(Proposal, pk=proposal_id)
    try:
        proposal = proposal_propose_confirm(
            proposal_id=proposal_id, tx_hash=str(_json_body(request).get("tx_hash", ""))
        )
        _index()
    except GovernanceError as error:
        return _error(error)
    except ChainError as exc:
        return _chain_error(exc)
    return _state(proposal)


@require_POST
@rate_limited("recount")
def onchain_refresh(request: HttpRequest, proposal_id: int) -> JsonResponse:
    """After a wallet's queue or execute: index the chain and take the proposal's state and outcome from it."""
    if not get_object_or_404(Proposal, pk=proposal_id).is_onchain:
        return _error(ActionNotAllowed("not_onchain", f"Proposal #{proposal_id} is settled off-chain."))
    try:
        _index()
        proposal = proposal_onchain_sync(proposal_id=proposal_id)
    except GovernanceError as error:
        return _error(error)
    except ChainError as exc:
        return _chain_error(exc)
    return _state(proposal)

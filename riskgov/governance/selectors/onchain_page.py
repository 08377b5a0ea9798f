"""What the proposal page shows of an on-chain proposal: the Governor payload decoded before the wallet signs,
the Governor's tally next to the collected ballots, and which wallet actions (propose, queue, execute) apply.

Registry values are 1e18 integers; tallies token wei.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chain.registry import REGISTRY_FIELDS, registry_update_signature
from riskgov.governance.models import Proposal, ProposalState
from riskgov.governance.selectors.onchain_tally import OnchainComparison, onchain_comparison
from riskgov.governance.selectors.pages import explorer_tx_url


@dataclass(frozen=True)
class PayloadCall:
    """One call of the propose payload: target, value (wei), calldata and what it decodes to."""

    target: str
    value: str
    calldata: str
    function: str
    market: str
    registry_symbol: str
    arguments: list[tuple[str, int]]


@dataclass(frozen=True)
class OnchainPage:
    governor: str
    proposal_id: str
    description: str
    description_hash: str
    calls: list[PayloadCall]
    proposed: bool
    propose_tx_hash: str
    propose_tx_url: str
    comparison: OnchainComparison | None
    eta: datetime | None
    snapshot_block: int
    deadline_block: int | None
    actions: list[str] = field(default_factory=list)  # wallet actions that apply now: propose, queue, execute


def onchain_page(proposal: Proposal, state: str) -> OnchainPage | None:
    """The on-chain section of `proposal`'s page; None for an off-chain proposal."""
    if not proposal.is_onchain or not proposal.onchain_payload:
        return None
    payload: dict[str, Any] = proposal.onchain_payload
    markets = payload.get("markets", [])
    calls = [
        PayloadCall(
            target=target,
            value=value,
            calldata=calldata,
            function=registry_update_signature(),
            market=entry["market"],
            registry_symbol=entry["registry_symbol"],
            arguments=[(name, int(entry["registry_values"][name])) for name in REGISTRY_FIELDS],
        )
        for target, value, calldata, entry in zip(
            payload["targets"], payload["values"], payload["calldatas"], markets, strict=True
        )
    ]
    proposed = proposal.proposed_onchain_at is not None
    actions = []
    if not proposed:
        actions.append("propose")
    elif state == ProposalState.SUCCEEDED:
        actions.append("queue")
    elif state == ProposalState.QUEUED:
        actions.append("execute")  # before the timelock's delay the wallet is shown the revert instead
    return OnchainPage(
        governor=proposal.verifying_contract,
        proposal_id=str(proposal.ballot_proposal_id),
        description=payload["description"],
        description_hash=payload.get("description_hash", ""),
        calls=calls,
        proposed=proposed,
        propose_tx_hash=proposal.propose_tx_hash,
        propose_tx_url=explorer_tx_url(proposal.propose_tx_hash),
        comparison=onchain_comparison(proposal) if proposed else None,
        eta=proposal.eta,
        snapshot_block=int(proposal.snapshot_block),
        deadline_block=payload.get("deadline_block"),
        actions=actions,
    )

"""Proposals and ballots for the Governor tests."""

from __future__ import annotations

from decimal import Decimal

from eth_account.signers.local import LocalAccount
from web3.types import TxReceipt

from chain.eip712 import Ballot, BallotDomain, sign_ballot
from chain.governor import ProposalPayload, SignedBallot, governor_domain, registry_update_payload, vote_nonce
from chain.registry import registry_targets
from tests.chain_governor.conftest import GovChain

NEW_ETH = {
    "imr": Decimal("0.06"),
    "mmr": Decimal("0.035"),
    "max_leverage": Decimal("15"),
    "liquidation_penalty": Decimal("0.012"),
    "insurance_fee_share": Decimal("0.4"),
}
NEW_ETH_OI_CAP = 90_000 * 10**18  # base units, 1e18


def eth_payload(gov: GovChain, description: str = "Raise ETH-USD margins") -> ProposalPayload:
    targets = registry_targets(NEW_ETH, oi_cap=NEW_ETH_OI_CAP)
    return registry_update_payload(gov.protocol["registry"], [("ETH-USD", targets)], description)


def propose(gov: GovChain, payload: ProposalPayload, proposer: LocalAccount | None = None) -> TxReceipt:
    return gov.client.transact(payload.propose_call(gov.governor), sender=proposer or gov.holders[0])


def propose_active(gov: GovChain, payload: ProposalPayload) -> int:
    """Propose and mine past the voting delay: the proposal is Active for the next block."""
    propose(gov, payload)
    gov.mine(2)
    return payload.proposal_id


def signed(
    gov: GovChain,
    voter: LocalAccount,
    proposal_id: int,
    support: int,
    *,
    reason: str = "",
    nonce: int | None = None,
    domain: BallotDomain | None = None,
) -> SignedBallot:
    """``voter``'s ballot with its next Governor nonce (or ``nonce``), signed under the Governor's domain."""
    ballot = Ballot(
        proposal_id=proposal_id,
        support=support,
        voter=voter.address,
        nonce=vote_nonce(gov.client.w3, gov.governor_address, voter.address) if nonce is None else nonce,
        reason=reason,
    )
    return SignedBallot(
        ballot, sign_ballot(ballot, domain or governor_domain(gov.client.w3, gov.governor_address), voter.key)
    )

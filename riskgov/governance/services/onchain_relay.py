"""The ballot relayer of on-chain mode: collected ballots go to the Governor, and each one's outcome is stored.

Ballots waiting (VoteRelay pending, or failed before reaching the chain) are claimed with row locks that other
relayer runs skip, handed to :func:`chain.governor.relay_votes` (batched in multicalls, ordered per voter
nonce, each one simulated first), and every result is written back: counted (transaction, block, gas), already
counted (the voter's vote is on chain: recognised and not resent), reverted (the decoded reason), or left
waiting (a nonce gap that an earlier ballot fills). The relayer account only pays gas; it cannot change
parameters. Gas is in units of gas.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from chain import governor as chain_governor
from chain.eip712 import Ballot
from chain.errors import ChainError
from riskgov.governance.errors import GovernanceError
from riskgov.governance.models import GovernanceMode, VoteRelay, VoteRelayStatus
from riskgov.governance.selectors import chain_reads
from riskgov.governance.services.delegation import relayer_account, relayer_sending

logger = logging.getLogger(__name__)

RELAY_BATCH_LIMIT = 500  # ballots claimed per run; the beat entry and the on-commit sends pick up the rest
RELAY_MAX_ATTEMPTS = 5  # a ballot failing before the chain (node down) this often is left failed

_STATUS = {
    "counted": VoteRelayStatus.COUNTED,
    "already_counted": VoteRelayStatus.ALREADY_COUNTED,
    "reverted": VoteRelayStatus.REVERTED,
}


def _signed(relay: VoteRelay) -> chain_governor.SignedBallot:
    vote, proposal = relay.vote, relay.vote.proposal
    ballot = Ballot(
        proposal_id=proposal.ballot_proposal_id, support=int(vote.support), voter=vote.voter, nonce=int(vote.nonce),
        reason=vote.reason if vote.reason_signed else "",
    )  # fmt: skip
    return chain_governor.SignedBallot(ballot=ballot, signature=vote.signature)


def ballots_relay(*, proposal_id: int | None = None, now: datetime | None = None) -> dict[str, int]:
    """Relay the waiting ballots (of one proposal, or all) to their Governors; returns counts by outcome.

    Safe to run twice and concurrently: runs take turns at the relayer's send lock (its transactions take
    consecutive nonces), each claims what is still waiting when its turn comes, claimed rows are locked (others
    skip them), and a ballot whose vote is already on chain is recognised by the Governor's hasVoted and not sent
    again.
    """
    now = now or timezone.now()
    outcome: dict[str, int] = defaultdict(int)
    with relayer_sending(), transaction.atomic():
        rows = (
            VoteRelay.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("vote__proposal")
            .filter(
                vote__proposal__governance_mode=GovernanceMode.ONCHAIN,
                status__in=[VoteRelayStatus.PENDING, VoteRelayStatus.FAILED],
                attempts__lt=RELAY_MAX_ATTEMPTS,
            )
            .order_by("vote__voter", "vote__nonce", "pk")
        )
        if proposal_id is not None:
            rows = rows.filter(vote__proposal_id=proposal_id)
        claimed = list(rows[:RELAY_BATCH_LIMIT])
        by_governor: dict[str, list[VoteRelay]] = defaultdict(list)
        for relay in claimed:
            by_governor[relay.vote.proposal.verifying_contract].append(relay)
        for governor, relays in by_governor.items():
            for status, count in _relay_to(governor, relays, now).items():
                outcome[status] += count
    return dict(outcome)


def _relay_to(governor: str, relays: list[VoteRelay], now: datetime) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    try:
        relayer = relayer_account()
        w3 = chain_reads.chain_client().w3
        results = chain_governor.relay_votes(w3, governor, relayer, [_signed(relay) for relay in relays])
    except (ChainError, GovernanceError) as exc:  # the node is down or no relayer is configured: retry later
        logger.warning("relaying %s ballots to %s failed: %s", len(relays), governor, exc)
        for relay in relays:
            relay.status, relay.revert_reason = VoteRelayStatus.FAILED, f"not sent: {exc}"[:2000]
            relay.attempts += 1
            relay.save(update_fields=["status", "revert_reason", "attempts"])
        counts[VoteRelayStatus.FAILED] += len(relays)
        return counts
    for relay, result in zip(relays, results, strict=True):
        status = _STATUS.get(result.status, VoteRelayStatus.PENDING)  # "skipped": a nonce gap, wait
        relay.status, relay.relayer, relay.attempts = status, relayer.address, relay.attempts + 1
        relay.tx_hash = result.tx_hash
        relay.block_number, relay.gas_used = result.block_number, result.gas_used
        relay.revert_reason = (result.message or result.error)[:2000] if status != VoteRelayStatus.COUNTED else ""
        if status != VoteRelayStatus.PENDING:
            relay.relayed_at = now
        relay.save()
        counts[status] += 1
        if status == VoteRelayStatus.REVERTED:
            logger.info("ballot of %s on proposal %s reverted: %s", relay.vote.voter, relay.vote.proposal_id,
                        relay.revert_reason)  # fmt: skip
    return counts

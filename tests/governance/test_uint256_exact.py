"""Token wei, vote weights and 78-digit on-chain proposal ids keep every digit on SQLite as on PostgreSQL.

Each figure is checked against Python integers, so the module gives the same answers on both databases; `make
test` runs it on each. The amounts are 42- and 78-digit integers that differ in their last digits, where a
decimal of 15 significant digits would make them equal.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.db.models import Max, Min, Q, Sum
from django.test import Client
from django.urls import reverse
from eth_utils import to_checksum_address

from chain.models import (
    ChainDeployment,
    ContractRole,
    GovernorVote,
    IndexerCheckpoint,
    TokenSupplyCheckpoint,
    TokenTransfer,
    VotingPowerCheckpoint,
)
from chain.selectors.governor import onchain_tally
from chain.selectors.voting import delegation_status, total_supply
from riskgov.core.models.uint256 import Uint256Sum, sqlite_reencode_operation
from riskgov.governance.domain.state import quorum_votes
from riskgov.governance.models import Proposal, Vote
from riskgov.governance.selectors import chain_reads
from riskgov.governance.selectors.delegates import delegate_rows, holder_page
from riskgov.governance.selectors.proposals import proposal_tally, tally_attach
from tests.governance.conftest import ACTIVE_AT, CHAIN_ID, REGISTRY, TOKEN, make_proposal, signed

pytestmark = pytest.mark.django_db

# 123456789012345678901234.567890123456789012 tokens in wei (42 digits), and neighbours one wei apart
AMOUNT = 123456789012345678901234_567890123456789012
WEIGHTS = [AMOUNT, AMOUNT + 1, AMOUNT - 1, 3 * AMOUNT + 7, 2]
# a Governor proposal id (uint256 hashProposal, 78 digits) and the id one below it
PROPOSAL_ID = 0xE3F1C6D2B7E4958D0C1F2E3D4C5B6A79880716253443526170819A0B1C2D3E4F
NEIGHBOUR_ID = PROPOSAL_ID - 1
GOVERNOR = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"


def _deployment() -> ChainDeployment:
    return ChainDeployment.objects.create(
        chain_id=CHAIN_ID, genesis_hash="0x" + "00" * 32, gov_token=TOKEN, registry=REGISTRY, perp_market=REGISTRY,
        deployment_block=1, governor=GOVERNOR, timelock=GOVERNOR,
    )  # fmt: skip


def _checkpoint(deployment: ChainDeployment, role: str, address: str, block: int = 100) -> IndexerCheckpoint:
    return IndexerCheckpoint.objects.create(
        deployment=deployment, role=role, address=address, block_number=block, block_hash="0x" + "11" * 32
    )


def _log(checkpoint: IndexerCheckpoint, n: int, block: int | None = None) -> dict[str, Any]:
    return {"checkpoint": checkpoint, "block_number": block if block is not None else n, "block_hash": "0x" + "22" * 32,
            "tx_hash": f"0x{n:064x}", "log_index": 0}  # fmt: skip


def test_78_digit_proposal_ids_and_weights_are_stored_filtered_ordered_and_summed_exactly() -> None:
    assert len(str(PROPOSAL_ID)) == 78 and len(str(AMOUNT)) == 42
    governor = _checkpoint(_deployment(), ContractRole.GOVERNOR, GOVERNOR)
    voters = [f"0x{n:040x}" for n in range(1, len(WEIGHTS) + 1)]
    for n, (voter, weight) in enumerate(zip(voters, WEIGHTS, strict=True)):
        GovernorVote.objects.create(**_log(governor, n), proposal_id=PROPOSAL_ID, voter=voter, support=n % 3,
                                    weight=weight)  # fmt: skip
    GovernorVote.objects.create(**_log(governor, 99), proposal_id=NEIGHBOUR_ID, voter=voters[0], support=1, weight=1)

    votes = GovernorVote.objects.filter(proposal_id=PROPOSAL_ID)
    assert sorted(int(w) for w in votes.values_list("weight", flat=True)) == sorted(WEIGHTS)
    assert {int(p) for p in GovernorVote.objects.values_list("proposal_id", flat=True)} == {PROPOSAL_ID, NEIGHBOUR_ID}
    assert votes.get(voter=voters[1]).weight == Decimal(AMOUNT + 1)
    # filters: exact, gt/lt, in and range tell apart integers one wei apart
    assert votes.filter(weight=AMOUNT).count() == 1
    assert sorted(int(w) for w in votes.filter(weight__gt=AMOUNT).values_list("weight", flat=True)) == [
        AMOUNT + 1, 3 * AMOUNT + 7,
    ]  # fmt: skip
    assert votes.filter(weight__lt=AMOUNT).count() == 2
    assert votes.filter(weight__gte=AMOUNT - 1, weight__lte=AMOUNT + 1).count() == 3
    assert votes.filter(weight__in=[AMOUNT - 1, AMOUNT + 1, 5]).count() == 2
    assert votes.filter(weight__range=(AMOUNT, AMOUNT + 1)).count() == 2
    assert GovernorVote.objects.filter(proposal_id__gt=NEIGHBOUR_ID).count() == len(WEIGHTS)
    assert GovernorVote.objects.filter(proposal_id__lt=PROPOSAL_ID).get().weight == 1
    # ordering, Min and Max follow the numbers, not the text
    assert [int(w) for w in votes.order_by("weight").values_list("weight", flat=True)] == sorted(WEIGHTS)
    assert [int(w) for w in votes.order_by("-weight").values_list("weight", flat=True)] == sorted(WEIGHTS)[::-1]
    assert [int(p) for p in GovernorVote.objects.order_by("proposal_id").values_list("proposal_id", flat=True)][:2] == [
        NEIGHBOUR_ID, PROPOSAL_ID,
    ]  # fmt: skip
    assert votes.aggregate(low=Min("weight"), high=Max("weight")) == {"low": 2, "high": 3 * AMOUNT + 7}
    # sums: the on-chain tally per side, and a total
    by_side = [sum(w for n, w in enumerate(WEIGHTS) if n % 3 == side) for side in range(3)]
    tally = onchain_tally(PROPOSAL_ID)
    assert (tally.against, tally.for_, tally.abstain) == tuple(by_side)
    assert votes.aggregate(total=Uint256Sum("weight"))["total"] == Decimal(sum(WEIGHTS))
    assert GovernorVote.objects.filter(proposal_id=12345).aggregate(total=Uint256Sum("weight"))["total"] is None


def test_signed_ballots_tally_the_exact_wei_and_the_exact_quorum(client: Client, chain, holders, market,
                                                                   gov_settings) -> None:  # fmt: skip
    chain.supply = 10 * AMOUNT + 3
    proposal = make_proposal(chain, holders[5])
    for n, (holder, weight) in enumerate(zip(holders[:5], WEIGHTS, strict=True)):
        chain.powers[holder.address] = weight
        body = signed(proposal.pk, n % 3, holder, contract=proposal.verifying_contract)
        with time_machine.travel(ACTIVE_AT, tick=False):
            response = client.post(reverse("governance:api-votes", args=[proposal.pk]), body,
                                   content_type="application/json")  # fmt: skip
        assert response.status_code == 201, response.json()
        assert response.json()["weight"] == str(weight)

    by_side = [sum(w for n, w in enumerate(WEIGHTS) if n % 3 == side) for side in range(3)]
    api = client.get(reverse("governance:api-proposal", args=[proposal.pk])).json()["tally"]
    assert (api["against"], api["for"], api["abstain"]) == tuple(str(s) for s in by_side)
    quorum = (10 * AMOUNT + 3) * 4 // 100  # 4 % of the supply, floored, in integers
    assert api["quorum"] == str(quorum) == str(quorum_votes(Decimal(10 * AMOUNT + 3), Decimal("0.04")))
    proposal = Proposal.objects.get(pk=proposal.pk)
    assert proposal.total_supply == 10 * AMOUNT + 3 and proposal.quorum == quorum
    tally_attach([proposal])
    tally = proposal_tally(proposal)
    assert (tally.against_votes, tally.for_votes, tally.abstain_votes) == tuple(by_side)
    assert tally.quorum_reached is (by_side[1] + by_side[2] >= quorum)
    weights = Vote.objects.filter(proposal=proposal)
    assert [int(w) for w in weights.order_by("weight").values_list("weight", flat=True)] == sorted(WEIGHTS)
    assert weights.filter(weight__gt=AMOUNT - 1, weight__lt=AMOUNT + 1).get().voter == holders[0].address

    # the same proposal under a 78-digit Governor id: found by it, and told apart from the id one below it
    Proposal.objects.filter(pk=proposal.pk).update(onchain_proposal_id=PROPOSAL_ID)
    other = make_proposal(chain, holders[5], mmr="0.036")
    Proposal.objects.filter(pk=other.pk).update(onchain_proposal_id=NEIGHBOUR_ID)
    assert Proposal.objects.get(onchain_proposal_id=PROPOSAL_ID).pk == proposal.pk
    assert Proposal.objects.get(pk=other.pk).onchain_proposal_id == NEIGHBOUR_ID


def test_token_flows_balances_supply_and_voting_power_are_exact() -> None:
    deployment = _deployment()
    token = _checkpoint(deployment, ContractRole.GOV_TOKEN, TOKEN, block=50)
    alice, bob, zero = to_checksum_address("0x" + "aa" * 20), to_checksum_address("0x" + "bb" * 20), "0x" + "00" * 20
    flows = [(zero, alice, 3 * AMOUNT), (alice, bob, AMOUNT + 1), (bob, alice, 7), (zero, bob, AMOUNT - 1)]
    for n, (sender, recipient, amount) in enumerate(flows):
        TokenTransfer.objects.create(**_log(token, n), sender=sender, recipient=recipient, amount=amount)
    deltas = [3 * AMOUNT, AMOUNT - 1, -(AMOUNT + 5), -1]
    supply = 0
    for n, delta in enumerate(deltas):
        supply += delta
        TokenSupplyCheckpoint.objects.create(**_log(token, 10 + n, block=n + 1), total_supply=supply, delta=delta)
    powers = [(alice, 0, 2 * AMOUNT - 1), (bob, 0, AMOUNT + 1), (alice, 2 * AMOUNT - 1, 2 * AMOUNT + 6)]
    for n, (delegatee, previous, votes) in enumerate(powers):
        VotingPowerCheckpoint.objects.create(**_log(token, 20 + n, block=n + 1), delegatee=delegatee,
                                             previous_votes=previous, votes=votes)  # fmt: skip

    def balance(holder: str) -> int:
        return sum(a for _, r, a in flows if r == holder) - sum(a for s, _, a in flows if s == holder)

    assert delegation_status(alice).balance == balance(alice) == 2 * AMOUNT + 6
    assert holder_page(bob).balance == balance(bob) == 2 * AMOUNT - 7
    assert delegation_status(alice).votes == 2 * AMOUNT + 6
    assert {row.address: row.votes for row in delegate_rows()} == {alice: 2 * AMOUNT + 6, bob: AMOUNT + 1}
    assert [total_supply(block) for block in (1, 2, 3, 4)] == [
        3 * AMOUNT,
        4 * AMOUNT - 1,
        3 * AMOUNT - 6,
        3 * AMOUNT - 7,
    ]
    # the signed supply delta: ordered, filtered and summed with its sign
    rows = TokenSupplyCheckpoint.objects.filter(checkpoint=token)
    assert [int(d) for d in rows.order_by("delta").values_list("delta", flat=True)] == sorted(deltas)
    assert rows.filter(delta__lt=0).count() == 2 and rows.filter(delta__gt=-2, delta__lt=0).get().delta == -1
    assert rows.aggregate(net=Uint256Sum("delta"), burnt=Uint256Sum("delta", filter=Q(delta__lt=0))) == {
        "net": sum(deltas), "burnt": -(AMOUNT + 6),
    }  # fmt: skip
    # the vote path's raw lookup of the snapshot's voting power
    chain_reads._token_checkpoint.cache_clear()
    try:
        assert chain_reads.snapshot_voting_power(alice, 3) == 2 * AMOUNT + 6
        assert chain_reads.snapshot_voting_power(alice, 2) == 2 * AMOUNT - 1
    finally:
        chain_reads._token_checkpoint.cache_clear()


def test_a_plain_sql_sum_is_refused_on_sqlite_rather_than_rounded() -> None:
    token = _checkpoint(_deployment(), ContractRole.GOV_TOKEN, TOKEN)
    for n, amount in enumerate((AMOUNT, AMOUNT + 1)):
        TokenTransfer.objects.create(**_log(token, n), sender=TOKEN, recipient=REGISTRY, amount=amount)
    if connection.vendor == "sqlite":  # SUM over the text goes through REAL: an error names the exact helper
        with pytest.raises(TypeError, match="Uint256Sum"):
            TokenTransfer.objects.aggregate(total=Sum("amount"))
    else:
        assert TokenTransfer.objects.aggregate(total=Sum("amount"))["total"] == 2 * AMOUNT + 1
    assert TokenTransfer.objects.aggregate(total=Uint256Sum("amount"))["total"] == 2 * AMOUNT + 1


class _Editor:
    def __init__(self) -> None:
        self.connection = connection


def test_the_migration_rewrites_what_sqlite_kept_and_leaves_postgresql_numeric_alone() -> None:
    from django.apps import apps

    token = _checkpoint(_deployment(), ContractRole.GOV_TOKEN, TOKEN)
    row = TokenSupplyCheckpoint.objects.create(**_log(token, 1), total_supply=10**21, delta=-5)
    table = TokenSupplyCheckpoint._meta.db_table
    operation = sqlite_reencode_operation("chain", [("tokensupplycheckpoint", "total_supply"),
                                                    ("tokensupplycheckpoint", "delta")])  # fmt: skip
    if connection.vendor == "sqlite":
        # what the NUMERIC column held, as the table rebuild copies it into the TEXT column
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET total_supply = '1.0e+21', delta = '-5' WHERE id = %s", [row.pk])
    operation.code(apps, _Editor())
    row.refresh_from_db()
    assert (row.total_supply, row.delta) == (10**21, -5)
    operation.reverse_code(apps, _Editor())  # plain digits again, which a NUMERIC column takes back
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT total_supply, delta FROM {table} WHERE id = %s", [row.pk])
        stored = cursor.fetchone()
    assert [int(Decimal(str(v))) for v in stored] == [10**21, -5]

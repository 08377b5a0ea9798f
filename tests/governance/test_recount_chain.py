"""The recount against a real Anvil node: an indexed voting-power row and a vote weight shifted together still
"match" in the database, and the chain recount (getPastVotes in JSON-RPC batches) reports the voter."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from chain.models import VotingPowerCheckpoint
from riskgov.governance.models import Vote
from riskgov.governance.selectors import chain_reads as governance_chain
from riskgov.governance.selectors.proposals import proposal_recount
from riskgov.governance.services.proposals import ChangeInput
from tests.governance.test_chain_anvil import _create, _vote_for, deployed, node  # noqa: F401

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_chain_recount_detects_a_tampered_indexed_row_and_weight(
    deployed: dict[str, Any],  # noqa: F811
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env, token = deployed, deployed["token"]
    proposal = _create(env, [ChangeInput("ETH", "mmr", Decimal("0.035"))])
    env["client"].rpc("evm_mine")  # getPastVotes answers for blocks in the past only
    voters = sorted(env["summary"]["self_delegated"])[:3]
    _vote_for(env, proposal, voters)
    snapshot = int(proposal.snapshot_block)
    victim = voters[0]
    real = token.functions.getPastVotes(victim, snapshot).call()
    shifted = real * 3
    row = (
        VotingPowerCheckpoint.objects.filter(delegatee=victim, block_number__lte=snapshot)
        .order_by("-block_number", "-log_index")
        .first()
    )
    assert row is not None and int(row.votes) == real
    VotingPowerCheckpoint.objects.filter(pk=row.pk).update(votes=Decimal(shifted))  # the indexed row …
    Vote.objects.filter(proposal=proposal, voter=victim).update(weight=Decimal(shifted))  # … and the weight

    settings.CHAIN_RPC_URL = ""  # no node: the database agrees with itself
    database = proposal_recount(proposal)
    assert (database.source, database.matches) == ("database", True)
    assert "database only" in database.source_note

    settings.CHAIN_RPC_URL = env["client"].rpc_url
    governance_chain._client.cache_clear()
    monkeypatch.setattr(governance_chain, "CHAIN_BATCH_SIZE", 2)  # three voters: two batch requests
    with pytest.raises(Exception, match="does NOT match"):
        call_command("verify_tally", str(proposal.pk), "--json")
    recount = json.loads(capsys.readouterr().out)
    assert (recount["source"], recount["matches"]) == ("chain", False)
    assert recount["weight_mismatches"] == [
        {"voter": victim, "stored": str(shifted), "recounted": str(real), "source": "chain"}
    ]
    assert int(recount["counted"]["for"]) == sum(token.functions.getPastVotes(v, snapshot).call() for v in voters)

    client = Client()  # the page's recount records the result; the public export carries its source and mismatches
    assert client.post(reverse("governance:proposal-recount", args=[proposal.pk])).status_code == 302
    export = client.get(reverse("governance:api-tally", args=[proposal.pk])).json()
    assert export["latest_recount"]["source"] == "chain" and export["latest_recount"]["matches"] is False
    assert export["latest_recount"]["weight_mismatches"][0]["voter"] == victim
    page = client.get(reverse("governance:proposal-detail", args=[proposal.pk])).content.decode()
    assert "from the chain node" in page and f"stored weight {shifted} wei, chain {real} wei" in page

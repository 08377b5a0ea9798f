"""Delegation: by transaction and by a relayed delegateBySig signature on Anvil, the power moving to the delegate at
the next snapshot, refusals naming the field, the relay's stored outcome, signed statements, and the delegates page
figures against values computed from the chain."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest
from celery.app.base import Celery
from django.test import Client
from django.urls import reverse
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes

from chain.eip712 import SECP256K1_N, Ballot, BallotDomain, sign_ballot
from chain.selectors.deployments import active_deployment
from chain.services.indexer import deployment_index
from riskgov.governance.models import DelegateStatement, DelegationRelay, Proposal, RelayStatus, Vote
from riskgov.governance.selectors import chain_reads
from riskgov.governance.services.proposals import ChangeInput, proposal_create
from riskgov.governance.services.votes import SignedBallot, vote_cast, voter_nonce
from riskgov.governance.tasks import governance_delegation_relay
from tests.governance.conftest import CHAIN_ID, REGISTRY
from tests.governance.test_chain_anvil import deployed, node  # noqa: F401  (fixtures)

WAD = 10**18
RELAY_TASK = "riskgov.governance_delegation_relay"


# ------------------------------------------------------------------------------------------ helpers


@pytest.fixture
def sent_tasks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Tasks sent to the broker, recorded instead of published: each test runs the relay itself, as a worker would."""
    sent: list[tuple[str, dict[str, Any]]] = []

    def record(app: Celery, name: str, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        sent.append((name, dict(kwargs or {})))
        return app.AsyncResult("recorded")

    monkeypatch.setattr(Celery, "send_task", record)
    return sent


def _key(env: dict[str, Any], address: str) -> LocalAccount:
    return next(h for h in env["accounts"].holders if h.address == address)


def _index() -> None:
    deployment = active_deployment()
    assert deployment is not None
    deployment_index(deployment=deployment, client=chain_reads.chain_client())


def _create(env: dict[str, Any], mmr: str) -> Proposal:
    token = env["token"]
    proposer = max(env["summary"]["self_delegated"], key=lambda a: token.functions.getVotes(a).call())
    return proposal_create(
        proposer=proposer,
        title=f"ETH maintenance margin to {mmr}",
        description="Delegation test.",
        changes=[ChangeInput("ETH", "mmr", Decimal(mmr))],
    )


def _vote(env: dict[str, Any], proposal: Proposal, voter: str) -> Any:
    nonce = voter_nonce(voter)
    ballot = Ballot(proposal_id=proposal.pk, support=1, voter=voter, nonce=nonce)
    domain = BallotDomain(chain_id=31337, verifying_contract=proposal.verifying_contract)
    signature = sign_ballot(ballot, domain, _key(env, voter).key)
    return vote_cast(ballot=SignedBallot(proposal.pk, 1, voter, nonce, signature))


def _typed(client: Client, delegator: str, delegatee: str) -> dict[str, Any]:
    response = client.get(
        reverse("governance:api-delegation-typed-data"), {"delegator": delegator, "delegatee": delegatee}
    )
    assert response.status_code == 200, response.content
    return response.json()


def _sign(account: LocalAccount, document: dict[str, Any]) -> str:
    return HexBytes(account.sign_message(encode_typed_data(full_message=document)).signature).to_0x_hex()


def _relay(client: Client, body: dict[str, Any]) -> Any:
    return client.post(reverse("governance:api-delegation-relays"), body, content_type="application/json")


def _refusal(response: Any) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["field"]


def _high_s(signature: str) -> str:
    raw = bytes(HexBytes(signature))
    s = SECP256K1_N - int.from_bytes(raw[32:64], "big")
    return HexBytes(raw[:32] + s.to_bytes(32, "big") + bytes([55 - raw[64]])).to_0x_hex()


# ------------------------------------------------------------------------------------------ Anvil


@pytest.mark.integration
@pytest.mark.django_db
def test_delegate_by_transaction_moves_power_at_the_next_snapshot(deployed: dict[str, Any]) -> None:  # noqa: F811
    env, token, client = deployed, deployed["token"], deployed["client"]
    ranked = sorted(env["summary"]["self_delegated"], key=lambda a: token.functions.getVotes(a).call(), reverse=True)
    delegate, holder = ranked[1], ranked[-1]
    before = _create(env, "0.031")
    balance = token.functions.balanceOf(holder).call()
    delegate_power = token.functions.getVotes(delegate).call()

    client.transact(token.functions.delegate(delegate), sender=_key(env, holder))  # the wallet's delegate(delegatee)
    _index()
    after = _create(env, "0.032")
    client.rpc("evm_mine")  # getPastVotes needs the snapshot block in the past

    snap_before, snap_after = int(before.snapshot_block), int(after.snapshot_block)
    assert chain_reads.voting_power_at(delegate, snap_after) == delegate_power + balance
    assert (
        chain_reads.voting_power_at(delegate, snap_after) == token.functions.getPastVotes(delegate, snap_after).call()
    )
    assert chain_reads.voting_power_at(holder, snap_after) == 0
    assert chain_reads.voting_power_at(delegate, snap_before) == delegate_power  # the earlier snapshot is untouched
    assert chain_reads.voting_power_at(holder, snap_before) == balance
    # the ballots weigh the same: the delegate carries the holder's tokens on the new proposal only
    assert int(_vote(env, after, delegate).weight) == delegate_power + balance
    assert int(_vote(env, before, delegate).weight) == delegate_power
    assert int(_vote(env, before, holder).weight) == balance
    with pytest.raises(Exception, match="no voting power"):
        _vote(env, after, holder)


@pytest.mark.integration
@pytest.mark.django_db
def test_delegate_by_signature_is_relayed_and_counts_at_the_next_snapshot(
    deployed: dict[str, Any],  # noqa: F811
    sent_tasks: list[tuple[str, dict[str, Any]]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    env, token, chain = deployed, deployed["token"], deployed["client"]
    ranked = sorted(env["summary"]["self_delegated"], key=lambda a: token.functions.getVotes(a).call(), reverse=True)
    delegate, holder = ranked[2], ranked[-2]
    balance, delegate_power = token.functions.balanceOf(holder).call(), token.functions.getVotes(delegate).call()
    before = _create(env, "0.031")
    web = Client()

    typed = _typed(web, holder, delegate)
    assert typed["primaryType"] == "Delegation"
    assert typed["domain"]["verifyingContract"] == token.address and typed["domain"]["chainId"] == 31337
    assert typed["message"]["nonce"] == token.functions.nonces(holder).call()
    with django_capture_on_commit_callbacks(execute=True):
        response = _relay(
            web,
            {
                "delegator": holder,
                "delegatee": delegate,
                "nonce": typed["message"]["nonce"],
                "expiry": typed["message"]["expiry"],
                "signature": _sign(_key(env, holder), typed),
            },
        )
    assert response.status_code == 202, response.content
    relay = DelegationRelay.objects.get()
    assert response.json()["status"] == "queued" and relay.status == RelayStatus.QUEUED
    assert sent_tasks == [(RELAY_TASK, {"relay_id": relay.pk})]

    assert governance_delegation_relay(relay_id=relay.pk) == RelayStatus.SUCCEEDED  # as the worker runs it
    assert governance_delegation_relay(relay_id=relay.pk) == RelayStatus.SUCCEEDED  # a second delivery sends nothing
    relay.refresh_from_db()
    receipt = chain.w3.eth.get_transaction_receipt(relay.tx_hash)
    assert receipt["status"] == 1 and receipt["from"] == relay.relayer != holder
    assert token.functions.delegates(holder).call() == delegate
    status = web.get(response.json()["status_url"]).json()
    assert (status["status"], status["tx_hash"], status["finished"]) == ("succeeded", relay.tx_hash, True)

    after = _create(env, "0.032")
    chain.rpc("evm_mine")
    assert chain_reads.voting_power_at(delegate, int(after.snapshot_block)) == delegate_power + balance
    assert chain_reads.voting_power_at(delegate, int(before.snapshot_block)) == delegate_power
    page = web.get(reverse("governance:holder-detail", args=[holder])).content.decode()
    assert relay.tx_hash[:6] in page and "Succeeded" in page and delegate in page


@pytest.mark.integration
@pytest.mark.django_db
def test_relay_refusals_name_the_field_and_store_nothing(deployed: dict[str, Any]) -> None:  # noqa: F811
    env, token = deployed, deployed["token"]
    holder, delegate = env["summary"]["self_delegated"][0], env["summary"]["self_delegated"][1]
    account = _key(env, holder)
    web = Client()
    typed = _typed(web, holder, delegate)
    good = {
        "delegator": holder,
        "delegatee": delegate,
        "nonce": typed["message"]["nonce"],
        "expiry": typed["message"]["expiry"],
        "signature": _sign(account, typed),
    }

    assert _refusal(_relay(web, {**good, "delegatee": "0x1234"})) == (400, "invalid_delegatee", "delegatee")
    assert _refusal(
        web.get(reverse("governance:api-delegation-typed-data"), {"delegator": holder, "delegatee": "bob"})
    ) == (400, "invalid_delegatee", "delegatee")
    expired = {**typed, "message": {**typed["message"], "expiry": int(time.time()) - 10}}
    assert _refusal(
        _relay(web, {**good, "expiry": expired["message"]["expiry"], "signature": _sign(account, expired)})
    ) == (400, "expired_signature", "expiry")
    assert _refusal(_relay(web, {**good, "expiry": "soon"})) == (400, "invalid_expiry", "expiry")
    wrong = {**typed, "message": {**typed["message"], "nonce": typed["message"]["nonce"] + 1}}
    assert _refusal(_relay(web, {**good, "nonce": wrong["message"]["nonce"], "signature": _sign(account, wrong)})) == (
        400,
        "wrong_nonce",
        "nonce",
    )
    stranger = Account.from_key(b"\x07" * 32)
    assert _refusal(_relay(web, {**good, "signature": _sign(stranger, typed)})) == (
        400,
        "invalid_signature",
        "signature",
    )
    other = {**typed, "message": {**typed["message"], "delegatee": holder}}  # signed for another delegatee
    assert _refusal(_relay(web, {**good, "signature": _sign(account, other)}))[2] == "signature"
    assert _refusal(_relay(web, {**good, "signature": _high_s(good["signature"])})) == (
        400,
        "invalid_signature",
        "signature",
    )
    assert _refusal(_relay(web, {**good, "delegator": "0xnope"}))[2] == "delegator"
    assert DelegationRelay.objects.count() == 0
    assert token.functions.delegates(holder).call() == holder  # nothing reached the chain


@pytest.mark.integration
@pytest.mark.django_db
def test_a_reverted_relay_stores_and_shows_the_reason(
    deployed: dict[str, Any],  # noqa: F811
    sent_tasks: list[tuple[str, dict[str, Any]]],
) -> None:
    env, token, chain = deployed, deployed["token"], deployed["client"]
    holder, delegate = env["summary"]["self_delegated"][2], env["summary"]["self_delegated"][3]
    web = Client()
    typed = _typed(web, holder, delegate)
    signature = _sign(_key(env, holder), typed)
    response = _relay(
        web,
        {
            "delegator": holder,
            "delegatee": delegate,
            "nonce": typed["message"]["nonce"],
            "expiry": typed["message"]["expiry"],
            "signature": signature,
        },
    )
    assert response.status_code == 202
    # someone else sends the same signature first: the nonce is used when the relayer's transaction arrives
    raw = bytes(HexBytes(signature))
    chain.transact(
        token.functions.delegateBySig(
            delegate, typed["message"]["nonce"], typed["message"]["expiry"], raw[64], raw[:32], raw[32:64]
        ),
        sender=env["accounts"].keeper,
    )
    relay = DelegationRelay.objects.get()
    assert governance_delegation_relay(relay_id=relay.pk) == RelayStatus.REVERTED
    relay.refresh_from_db()
    assert "InvalidAccountNonce" in relay.error and relay.tx_hash == ""
    status = web.get(reverse("governance:api-delegation-relay", args=[relay.pk])).json()
    assert status["status"] == "reverted" and "InvalidAccountNonce" in status["error"]
    assert "InvalidAccountNonce" in web.get(reverse("governance:holder-detail", args=[holder])).content.decode()


@pytest.mark.integration
@pytest.mark.django_db
def test_self_delegation_is_one_click_and_the_demo_wallet_signs_delegations(
    deployed: dict[str, Any],  # noqa: F811
    sent_tasks: list[tuple[str, dict[str, Any]]],
) -> None:
    env, token = deployed, deployed["token"]
    holder = env["summary"]["undelegated"][0]
    web = Client()
    status = web.get(reverse("auth:wallet-status"), {"address": holder}).json()["delegation"]
    assert status["needs_delegation"] is True and status["votes"] == "0"
    response = web.post(reverse("auth:demo-delegate"), {"address": holder}, content_type="application/json")
    assert response.status_code == 200 and response.json()["tx_hash"].startswith("0x")
    assert token.functions.delegates(holder).call() == holder
    status = web.get(reverse("auth:wallet-status"), {"address": holder}).json()["delegation"]
    assert status["needs_delegation"] is False
    assert int(status["votes"]) == token.functions.balanceOf(holder).call() > 0
    page = web.get(reverse("governance:delegate-list"), {"sort": "power"})
    assert holder in [row.address for row in page.context["delegates"].rows]
    holder_page = web.get(reverse("governance:holder-detail", args=[holder])).content.decode()
    assert "itself" in holder_page

    # the demo wallet signs a delegation to them on the server, as it signs ballots; the relayer sends it
    follower = env["summary"]["undelegated"][1]
    typed = _typed(web, follower, holder)
    signature = web.post(
        reverse("auth:demo-sign"),
        {"address": follower, "method": "eth_signTypedData_v4", "payload": typed},
        content_type="application/json",
    ).json()["signature"]
    response = _relay(
        web,
        {
            "delegator": follower,
            "delegatee": holder,
            "nonce": typed["message"]["nonce"],
            "expiry": typed["message"]["expiry"],
            "signature": signature,
        },
    )
    assert response.status_code == 202, response.content
    assert governance_delegation_relay(relay_id=response.json()["id"]) == RelayStatus.SUCCEEDED
    assert token.functions.delegates(follower).call() == holder
    assert token.functions.getVotes(holder).call() == (
        token.functions.balanceOf(holder).call() + token.functions.balanceOf(follower).call()
    )


@pytest.mark.integration
@pytest.mark.django_db
def test_delegates_page_order_and_figures_match_the_chain(
    deployed: dict[str, Any],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    django_assert_max_num_queries: Any,
) -> None:
    env, token, chain = deployed, deployed["token"], deployed["client"]
    holders = env["summary"]["holders"]
    first = _create(env, "0.031")
    late = env["summary"]["undelegated"][0]  # gets power only after the first proposal's snapshot
    chain.transact(token.functions.delegate(late), sender=_key(env, late))
    _index()
    second = _create(env, "0.032")
    voters = sorted(env["summary"]["self_delegated"])[:4]
    for voter in voters[:3]:
        _vote(env, first, voter)
    for voter in (voters[0], late):
        _vote(env, second, voter)
    cast = {voter: 0 for voter in holders}
    for vote in Vote.objects.filter(proposal__in=[first, second]):
        cast[vote.voter] += 1

    # independently: votes, delegates and balances straight from the token contract
    votes = {h: token.functions.getVotes(h).call() for h in holders}
    delegate_of = {h: token.functions.delegates(h).call() for h in holders}
    expected = sorted((h for h in holders if votes[h] > 0), key=lambda h: (-votes[h], h.lower()))
    eligible = {h: 2 for h in expected} | {late: 1}

    web = Client()
    with django_assert_max_num_queries(25):
        response = web.get(reverse("governance:delegate-list"))
    assert response.status_code == 200
    rows = response.context["delegates"].rows
    assert [row.address for row in rows] == expected
    for row in rows:
        assert row.votes == votes[row.address]
        assert row.delegators == sum(1 for h in holders if delegate_of[h] == row.address)
        assert row.votes_cast == cast[row.address]
        assert row.eligible_proposals == eligible[row.address]
        assert row.participation == Decimal(cast[row.address]) / eligible[row.address]
    late_row = next(row for row in rows if row.address == late)
    assert late_row.participation == 1  # one vote out of the one proposal it could vote on
    html = response.content.decode()
    assert html.index(expected[0]) < html.index(expected[1]) < html.index(expected[-1])

    by_participation = web.get(reverse("governance:delegate-list"), {"sort": "participation"}).context["delegates"]
    ordered = [row.address for row in by_participation.rows]
    shares = [Decimal(cast[h]) / eligible[h] for h in ordered]
    assert shares == sorted(shares, reverse=True) and shares[0] == 1
    by_delegators = web.get(reverse("governance:delegate-list"), {"sort": "delegators", "dir": "asc"})
    counts = [row.delegators for row in by_delegators.context["delegates"].rows]
    assert counts == sorted(counts)

    monkeypatch.setattr("riskgov.governance.selectors.delegates.DELEGATES_PER_PAGE", 5)
    page2 = web.get(reverse("governance:delegate-list"), {"page": 2}).context["delegates"].page
    assert [row.address for row in page2] == expected[5:10]

    holder_page = web.get(reverse("governance:holder-detail", args=[expected[0]]))
    history = holder_page.context["holder"].history
    assert history[-1].votes == votes[expected[0]]
    assert [d.address for d in holder_page.context["holder"].delegators] == sorted(
        (h for h in holders if delegate_of[h] == expected[0]),
        key=lambda h: (-token.functions.balanceOf(h).call(), h),
    )
    assert holder_page.context["holder"].chart["datasets"][0]["data"][-1] == votes[expected[0]] / WAD
    assert 'data-chart="chart-voting-power"' in holder_page.content.decode()


# ------------------------------------------------------------------------------------------ statements


def _statement(
    client: Client,
    account: LocalAccount,
    text: str,
    version: int,
    *,
    signer: LocalAccount | None = None,
    issued_at: int | None = None,
) -> Any:
    template = client.get(reverse("governance:api-statement-typed-data", args=[account.address])).json()
    assert template["message"]["version"] == version
    document = {
        **template,
        "message": {**template["message"], "statement": text, "issuedAt": issued_at or int(time.time())},
    }
    body = {
        "delegate": account.address,
        "statement": text,
        "version": version,
        "issued_at": document["message"]["issuedAt"],
        "signature": _sign(signer or account, document),
    }
    return client.post(reverse("governance:api-statements"), body, content_type="application/json")


@pytest.mark.django_db
def test_statements_are_signed_by_the_delegate_versioned_and_escaped(client: Client, chain: Any, holders: Any) -> None:
    delegate, stranger = holders[0], holders[1]
    template = client.get(reverse("governance:api-statement-typed-data", args=[delegate.address])).json()
    assert template["domain"] == {"name": "RiskGov", "version": "1", "chainId": CHAIN_ID, "verifyingContract": REGISTRY}

    refused = _statement(client, delegate, "I vote for safety.", 1, signer=stranger)
    assert _refusal(refused) == (400, "invalid_signature", "signature")
    stale = _statement(client, delegate, "I vote for safety.", 1, issued_at=int(time.time()) - 3600)
    assert _refusal(stale) == (400, "stale_statement", "issued_at")
    assert DelegateStatement.objects.count() == 0

    first = _statement(client, delegate, "I vote for **safety** <script>alert(1)</script>", 1)
    assert first.status_code == 201, first.content
    page = client.get(reverse("governance:holder-detail", args=[delegate.address])).content.decode()
    assert "<strong>safety</strong>" in page and "<script>alert(1)</script>" not in page

    replay = client.post(
        reverse("governance:api-statements"),
        {
            "delegate": delegate.address,
            "statement": "I vote for **safety** <script>alert(1)</script>",
            "version": 1,
            "issued_at": int(time.time()),
            "signature": "0x" + "11" * 65,
        },
        content_type="application/json",
    )
    assert _refusal(replay) == (400, "wrong_version", "version")
    second = _statement(client, delegate, "Margins first, always.", 2)
    assert second.status_code == 201
    page = client.get(reverse("governance:holder-detail", args=[delegate.address])).content.decode()
    current = page.split('id="statement-current"')[1].split("</div>")[0]
    assert "Margins first, always." in current and "safety" not in current  # the new version replaces the shown one
    assert "Earlier versions (1)" in page and "<strong>safety</strong>" in page  # history kept
    assert list(DelegateStatement.objects.values_list("version", flat=True).order_by("version")) == [1, 2]
    assert _refusal(client.post(reverse("governance:api-statements"), "[[[", content_type="application/json"))[1] == (
        "invalid_json"
    )


@pytest.mark.django_db
def test_holder_page_refuses_a_bad_address(client: Client, chain: Any) -> None:
    assert client.get(reverse("governance:holder-detail", args=["0xnot-an-address"])).status_code == 404
    assert client.get("/governance/holders/0x%00/").status_code in (400, 404)  # refused, never a 500
    assert client.get(reverse("governance:api-delegation-relay", args=[999])).status_code == 404
    page = client.get(reverse("governance:delegate-list"), {"sort": "nonsense", "page": "x"})
    assert page.status_code == 200 and "No governance token is indexed" in page.content.decode()
    assert page.context["delegates"].sort == "power"


@pytest.mark.django_db
def test_relays_are_rate_limited_per_delegator(client: Client, chain: Any, settings: Any) -> None:
    settings.RISKGOV_RATE_LIMITS = {**settings.RISKGOV_RATE_LIMITS, "delegation_relay": {"subject": "2/m"}}
    delegator = Account.create().address  # a fresh address: no earlier run's counter applies
    body = {"delegator": delegator, "delegatee": "0x12", "nonce": 0, "expiry": int(time.time()) + 600}
    assert [_relay(client, body).status_code for _ in range(2)] == [400, 400]  # refused, but counted
    limited = _relay(client, body)
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    assert _relay(client, {**body, "delegator": Account.create().address}).status_code == 400  # others unaffected

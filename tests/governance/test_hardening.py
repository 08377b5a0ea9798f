"""Hardened ballots through the public paths: canonical signatures only, signed reasons, cheap checks before the
node, nonces that only increase, capped sign-in expiry with the signed-in wallet in the header, and the recount
saying whether it read the chain or the database."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
import requests
import time_machine
from django.apps import apps as django_apps
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from eth_account import Account
from eth_account.messages import encode_defunct
from hexbytes import HexBytes

from chain.anvil import free_port
from chain.eip712 import SECP256K1_N
from riskgov.governance.models import Proposal, Vote, VoterNonce
from riskgov.governance.selectors import chain_reads as governance_chain
from riskgov.governance.selectors.chain_reads import ballot_web3 as node_ballot_web3
from tests.governance.conftest import ACTIVE_AT, WAD, make_proposal, signed

pytestmark = pytest.mark.django_db

migration = __import__(
    "riskgov.governance.migrations.0002_voter_nonces_and_signed_reasons", fromlist=["nonces_from_votes"]
)


def post_vote(client: Client, proposal_id: int, body: dict[str, Any], at: Any = ACTIVE_AT) -> Any:
    with time_machine.travel(at, tick=False):
        return client.post(reverse("governance:api-votes", args=[proposal_id]), body, content_type="application/json")


def malleated(signature: str) -> str:
    """The high-s twin of a signature: (r, n - s, v flipped) recovers the same signer."""
    raw = bytes(HexBytes(signature))
    s = int.from_bytes(raw[32:64], "big")
    return HexBytes(raw[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - raw[64]])).to_0x_hex()


@pytest.fixture
def proposal(chain, holders, market, gov_settings) -> Proposal:
    for holder, tokens in zip(holders, (50_000, 30_000, 10_000, 5_000, 0), strict=False):
        chain.powers[holder.address] = tokens * WAD
    return make_proposal(chain, holders[0])


# ------------------------------------------------------------------ canonical signatures


def test_high_s_twin_of_a_valid_ballot_is_rejected(client: Client, proposal: Proposal, holders) -> None:
    body = signed(proposal.pk, 1, holders[1])
    response = post_vote(client, proposal.pk, {**body, "signature": malleated(str(body["signature"]))})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("non_canonical_signature", "signature")
    assert "upper half" in error["message"]
    assert not Vote.objects.exists() and not VoterNonce.objects.exists()
    assert post_vote(client, proposal.pk, body).status_code == 201  # the canonical original still counts


@pytest.mark.parametrize("v", [0, 1])
def test_bare_recovery_id_v_is_rejected(client: Client, proposal: Proposal, holders, v: int) -> None:
    # a ballot whose signature has recovery id `v` (signatures are deterministic: pick one among a few)
    body = next(
        b
        for b in (signed(proposal.pk, support, holder) for holder in holders[1:4] for support in (0, 1, 2))
        if bytes(HexBytes(str(b["signature"])))[64] == 27 + v
    )
    raw = bytes(HexBytes(str(body["signature"])))
    response = post_vote(client, proposal.pk, {**body, "signature": HexBytes(raw[:64] + bytes([v])).to_0x_hex()})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "non_canonical_signature"
    assert "v must be 27 or 28" in response.json()["error"]["message"]
    assert not Vote.objects.exists()
    assert post_vote(client, proposal.pk, body).status_code == 201


def test_recount_flags_a_stored_high_s_signature(client: Client, proposal: Proposal, holders) -> None:
    assert post_vote(client, proposal.pk, signed(proposal.pk, 1, holders[1])).status_code == 201
    vote = Vote.objects.get()
    Vote.objects.filter(pk=vote.pk).update(signature=malleated(vote.signature))  # stored before the fix
    with pytest.raises(Exception, match="does NOT match"):
        call_command("verify_tally", str(proposal.pk))


# ------------------------------------------------------------------ signed reasons


def test_typed_data_with_a_reason_is_an_extended_ballot_the_wallet_signs(
    client: Client, proposal: Proposal, holders
) -> None:
    url = reverse("governance:api-ballot", args=[proposal.pk])
    plain = client.get(url, {"voter": holders[1].address, "support": 1}).json()
    assert plain["primaryType"] == "Ballot" and "reason" not in plain["message"]
    reason = "  Volatility is up — raise it.  "  # kept exactly, spaces included: it is what the voter signs
    typed = client.get(url, {"voter": holders[1].address, "support": 1, "reason": reason}).json()
    assert typed["primaryType"] == "ExtendedBallot"
    assert [f["name"] for f in typed["types"]["ExtendedBallot"]] == [
        "proposalId", "support", "voter", "nonce", "reason", "params",
    ]  # fmt: skip
    assert (typed["message"]["reason"], typed["message"]["params"]) == (reason, "0x")
    signature = Account.sign_typed_data(holders[1].key, full_message=typed).signature.to_0x_hex()
    body = {"voter": holders[1].address, "support": 1, "nonce": typed["message"]["nonce"], "signature": signature}
    response = post_vote(client, proposal.pk, {**body, "reason": reason})
    assert response.status_code == 201, response.json()
    assert (response.json()["reason"], response.json()["reason_signed"]) == (reason, True)
    export = client.get(reverse("governance:api-tally", args=[proposal.pk])).json()
    assert export["votes"][0]["primary_type"] == "ExtendedBallot" and export["votes"][0]["reason"] == reason
    assert "ExtendedBallot" in export["types"]


def test_a_reason_changed_after_signing_is_rejected(client: Client, proposal: Proposal, holders) -> None:
    body = signed(proposal.pk, 1, holders[1], reason="prudent")
    response = post_vote(client, proposal.pk, {**body, "reason": "reckless"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_signature", "signature") and "reason" in error["message"]
    assert not Vote.objects.exists()
    unsigned = signed(proposal.pk, 1, holders[1])  # a plain Ballot with words attached by whoever relays it
    response = post_vote(client, proposal.pk, {**unsigned, "reason": "words the voter never signed"})
    assert response.status_code == 400
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == ("reason_not_signed", "reason")
    assert not Vote.objects.exists()
    assert post_vote(client, proposal.pk, body).status_code == 201
    assert Vote.objects.get().reason == "prudent" and Vote.objects.get().reason_signed


def test_an_unsigned_reason_is_never_shown_as_the_voters(client: Client, proposal: Proposal, holders) -> None:
    assert post_vote(client, proposal.pk, signed(proposal.pk, 1, holders[1])).status_code == 201
    Vote.objects.update(reason="attached by a relayer")  # a row from before reasons were signed
    votes = client.get(reverse("governance:api-votes", args=[proposal.pk])).json()
    assert (votes[0]["reason"], votes[0]["reason_signed"]) == ("", False)
    export = client.get(reverse("governance:api-tally", args=[proposal.pk])).json()
    assert export["votes"][0]["reason"] == "" and export["votes"][0]["primary_type"] == "Ballot"
    with time_machine.travel(ACTIVE_AT, tick=False):
        page = client.get(reverse("governance:proposal-detail", args=[proposal.pk]))
    assert page.status_code == 200 and b"attached by a relayer" not in page.content
    call_command("verify_tally", str(proposal.pk))  # the signature is still the voter's plain Ballot


# ------------------------------------------------------------------ cheap checks first, node down


def test_voting_power_is_checked_before_any_rpc(
    client: Client, proposal: Proposal, holders, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_rpc() -> None:
        raise AssertionError("the node was asked before the database said no")

    monkeypatch.setattr(governance_chain, "ballot_web3", no_rpc)
    forged = signed(proposal.pk, 1, holders[4], key=holders[2])  # no power, and not the voter's key either
    response = post_vote(client, proposal.pk, forged)
    assert response.status_code == 400 and response.json()["error"]["code"] == "no_voting_power"


def test_contract_wallet_ballot_gets_503_when_the_node_is_down(
    client: Client, proposal: Proposal, holders, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(governance_chain, "ballot_web3", node_ballot_web3)  # the real lookup, not the stand-in
    settings.CHAIN_RPC_URL = f"http://127.0.0.1:{free_port()}"  # configured, but nothing listens
    governance_chain._client.cache_clear()
    wallet_ballot = signed(proposal.pk, 1, holders[1], key=holders[2])  # not an EOA signature of the voter
    response = post_vote(client, proposal.pk, wallet_ballot)
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "cannot_verify_now" and error["message"].startswith("cannot verify now, retry later")
    assert not Vote.objects.exists() and not VoterNonce.objects.exists()
    settings.CHAIN_RPC_URL = ""  # no node at all: the signature simply is not the voter's
    response = post_vote(client, proposal.pk, wallet_ballot)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_signature"
    governance_chain._client.cache_clear()


# ------------------------------------------------------------------ nonces


def test_a_deleted_vote_does_not_lock_the_voter_out(client: Client, chain, proposal: Proposal, holders) -> None:
    second = make_proposal(chain, holders[0], mmr="0.036")
    assert post_vote(client, proposal.pk, signed(proposal.pk, 1, holders[1])).status_code == 201
    Vote.objects.filter(voter=holders[1].address).delete()  # e.g. an admin cascade
    typed = client.get(reverse("governance:api-ballot", args=[second.pk]), {"voter": holders[1].address, "support": 0})
    assert typed.json()["message"]["nonce"] == 1  # the nonce never goes back
    replay = post_vote(client, second.pk, signed(second.pk, 0, holders[1], nonce=0))
    assert replay.status_code == 400 and replay.json()["error"]["code"] == "wrong_nonce"
    assert post_vote(client, second.pk, signed(second.pk, 0, holders[1], nonce=1)).status_code == 201
    assert VoterNonce.objects.get(voter=holders[1].address).next_nonce == 2


def test_the_migration_starts_each_nonce_past_the_voters_highest(chain, proposal: Proposal, holders) -> None:
    second = make_proposal(chain, holders[0], mmr="0.036")
    for target, voter, nonce in ((proposal, holders[1], 0), (second, holders[1], 3), (proposal, holders[2], 0)):
        Vote.objects.create(proposal=target, voter=voter.address, support=1, weight=1, nonce=nonce, signature="0x")
    migration.nonces_from_votes(django_apps, None)
    assert dict(VoterNonce.objects.values_list("voter", "next_nonce")) == {
        holders[1].address: 4,
        holders[2].address: 1,
    }


@pytest.mark.integration
def test_fifty_voters_at_once_through_a_live_server(live_server: Any, chain, market, gov_settings, holders) -> None:
    voters = [Account.from_key((1000 + i).to_bytes(32, "big")) for i in range(50)]
    for index, voter in enumerate(voters):
        chain.powers[voter.address] = (index + 1) * WAD
    proposal = make_proposal(chain, holders[0], now=timezone.now() - timedelta(seconds=120))
    url = live_server.url + reverse("governance:api-votes", args=[proposal.pk])
    ballots = [signed(proposal.pk, index % 3, voter) for index, voter in enumerate(voters)]
    submissions = ballots * 2  # every ballot twice: the copy must never count
    random.Random(7).shuffle(submissions)

    def submit(body: dict[str, object]) -> tuple[str, int]:
        return str(body["voter"]), requests.post(url, json=body, timeout=120).status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(submit, submissions))
    accepted = [voter for voter, status in answers if status == 201]
    assert sorted(status for _, status in answers) == [201] * 50 + [409] * 50
    assert sorted(accepted) == sorted(v.address for v in voters)  # 0 lost, 0 duplicated
    assert Vote.objects.filter(proposal=proposal).count() == 50
    assert sorted(VoterNonce.objects.values_list("next_nonce", flat=True)) == [1] * 50
    tally = requests.get(live_server.url + reverse("governance:api-proposal", args=[proposal.pk]), timeout=30).json()
    assert tally["tally"]["votes"] == 50
    total = sum(int(t) for t in (tally["tally"]["for"], tally["tally"]["against"], tally["tally"]["abstain"]))
    assert total == sum(range(1, 51)) * WAD


# ------------------------------------------------------------------ sign-in expiry, header


def _message(client: Client, account: Any, **extra: Any) -> Any:
    return client.post(
        reverse("auth:siwe-message"), {"address": account.address, **extra}, content_type="application/json"
    )


def _sign_in(client: Client, account: Any, **extra: Any) -> Any:
    message = _message(client, account, **extra).json()["message"]
    signature = account.sign_message(encode_defunct(text=message)).signature.to_0x_hex()
    return client.post(
        reverse("auth:siwe-verify"), {"message": message, "signature": signature}, content_type="application/json"
    )


def test_sign_in_expiry_is_capped(client: Client, chain, holders, settings: Any) -> None:
    settings.SIWE_MAX_EXPIRY_SECONDS = 24 * 3600
    too_long = _message(client, holders[0], expires_in=24 * 3600 + 1)
    assert too_long.status_code == 400
    error = too_long.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_expiry", "expires_in") and "86400" in error["message"]
    bad = _message(client, holders[0], expires_in="soon")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "expires_in"
    signed_in = _sign_in(client, holders[0], expires_in=3600)
    assert signed_in.status_code == 200
    status_url = reverse("auth:wallet-status")
    assert client.get(status_url).json()["address"] == holders[0].address
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert client.get(status_url).json()["address"] is None  # the sign-in ended with its message


def test_a_self_made_message_with_a_long_expiry_is_refused(client: Client, chain, holders) -> None:
    message = _message(client, holders[0]).json()["message"]
    lines = message.splitlines()
    expiry = next(i for i, line in enumerate(lines) if line.startswith("Expiration Time: "))
    lines[expiry] = "Expiration Time: " + (timezone.now() + timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    forged = "\n".join(lines)
    signature = holders[0].sign_message(encode_defunct(text=forged)).signature.to_0x_hex()
    response = client.post(
        reverse("auth:siwe-verify"), {"message": forged, "signature": signature}, content_type="application/json"
    )
    assert response.status_code == 400
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == ("expiry_too_long", "message")


def test_sign_in_refuses_a_high_s_signature(client: Client, chain, holders) -> None:
    message = _message(client, holders[0]).json()["message"]
    signature = holders[0].sign_message(encode_defunct(text=message)).signature.to_0x_hex()
    response = client.post(
        reverse("auth:siwe-verify"),
        {"message": message, "signature": malleated(signature)},
        content_type="application/json",
    )
    assert response.status_code == 401 and response.json()["error"]["code"] == "non_canonical_signature"


def test_header_shows_the_signed_in_wallet_with_sign_out(client: Client, chain, holders) -> None:
    page = reverse("governance:proposal-list")
    before = client.get(page).content.decode()
    assert "Log in" in before and 'id="header-wallet"' not in before
    assert _sign_in(client, holders[0]).status_code == 200
    after = client.get(page).content.decode()
    assert 'id="header-wallet"' in after and holders[0].address in after and 'id="header-signout"' in after
    assert ">Log in<" not in after
    assert f'data-session-address="{holders[0].address}"' in after  # the vote form votes as this address
    out = client.post(reverse("auth:sign-out"), {"next": page})
    assert out.status_code == 302 and out["Location"] == page
    assert 'id="header-wallet"' not in client.get(page).content.decode()
    assert _sign_in(client, holders[0]).status_code == 200
    away = client.post(reverse("auth:sign-out"), {"next": "//evil.example/"})
    assert away.status_code == 302 and away["Location"] == "/"


# ------------------------------------------------------------------ recount source


def test_recount_without_a_node_says_it_checked_the_database_only(
    client: Client, proposal: Proposal, holders, capsys
) -> None:
    assert post_vote(client, proposal.pk, signed(proposal.pk, 1, holders[1])).status_code == 201
    call_command("verify_tally", str(proposal.pk))
    out = capsys.readouterr().out
    assert "source: database" in out and "database only" in out and "recount matches" in out
    call_command("verify_tally", str(proposal.pk), "--json")
    assert '"source": "database"' in capsys.readouterr().out


# ------------------------------------------------------------------ in Chromium: the signed-in demo account stays


@pytest.mark.integration
def test_demo_wallet_reconnects_the_signed_in_account_and_signs_the_reason(
    live_server: Any, chain, market, gov_settings, holders, settings: Any
) -> None:
    from riskgov.governance.services.demo_wallet import demo_accounts
    from tests.conftest import REPO_ROOT, chromium_page

    settings.RISKGOV_DEMO_MODE = True
    chosen = demo_accounts()[3]["address"]  # not the dropdown's first account
    chain.powers[chosen] = 7_000 * WAD
    proposal = make_proposal(chain, holders[0], now=timezone.now() - timedelta(seconds=120))
    base = live_server.url
    with chromium_page(REPO_ROOT / "var" / "test-artifacts" / "hardening") as page:
        page.goto(f"{base}/governance/")
        page.wait_for_selector("html[data-wallet-restored='1']", state="attached")
        page.select_option("#demo-account", chosen)
        page.click("#demo-use")
        page.click("#wallet-signin:not([hidden])")
        page.wait_for_selector(f"#wallet-status:has-text('Signed in as {chosen}')")
        assert page.locator("#header-wallet").get_attribute("title") == f"Signed in with Ethereum as {chosen}"

        page.evaluate("sessionStorage.clear()")  # as a new tab: nothing remembered but the session cookie
        page.goto(f"{base}/governance/{proposal.pk}/")
        page.wait_for_selector("html[data-wallet-restored='1']", state="attached")
        assert page.input_value("#demo-account") == chosen
        page.wait_for_selector(f"#wallet-status:has-text('Signed in as {chosen}')")
        page.fill(".vote-box textarea[name=reason]", "Signed, so no relayer can change it.")
        page.click(".vote-box [data-vote='1']")
        page.wait_for_selector(".vote-result.ok")
        vote = Vote.objects.get(proposal=proposal)
        assert (vote.voter, vote.reason, vote.reason_signed) == (chosen, "Signed, so no relayer can change it.", True)
        page.wait_for_selector("#voters:has-text('Signed, so no relayer can change it.')")

        page.click("#header-signout")
        page.wait_for_selector("#header-wallet", state="detached")
        assert page.locator("a:has-text('Log in')").count() == 1


def test_admin_lists_nonces_read_only(client: Client, proposal: Proposal, holders, django_user_model: Any) -> None:
    assert post_vote(client, proposal.pk, signed(proposal.pk, 1, holders[1])).status_code == 201
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    listing = client.get(reverse("admin:governance_voternonce_changelist"))
    assert listing.status_code == 200 and holders[1].address in listing.content.decode()
    assert client.get(reverse("admin:governance_voternonce_add")).status_code == 403

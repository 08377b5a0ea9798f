"""Sign-in with Ethereum, the create form (threshold, guardrails, Markdown), pages, recount and export."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from eth_account.messages import encode_defunct, encode_typed_data
from eth_hash.auto import keccak
from hypothesis import given
from hypothesis import strategies as st

from chain.eip712 import Ballot, BallotDomain, ballot_digest, ballot_digest_fast, ballot_typed_data, domain_separator
from riskgov.core.models import AuditRecord
from riskgov.governance.models import Proposal, SiweNonce, Vote
from riskgov.governance.selectors.proposals import proposal_recount
from tests.governance.conftest import ACTIVE_AT, REGISTRY, WAD, make_proposal, signed

pytestmark = pytest.mark.django_db


def sign_in(client: Client, account, *, host: str = "testserver") -> dict:
    message = client.post(reverse("auth:siwe-message"), {"address": account.address}, content_type="application/json",
                          HTTP_HOST=host).json()["message"]  # fmt: skip
    signature = account.sign_message(encode_defunct(text=message)).signature.to_0x_hex()
    return {"message": message, "signature": signature}


def verify(client: Client, body: dict) -> object:
    return client.post(reverse("auth:siwe-verify"), body, content_type="application/json")


def test_sign_in_sets_session_and_nonce_is_single_use(client: Client, chain, holders) -> None:
    body = sign_in(client, holders[0])
    assert "Chain ID: 31337" in body["message"] and "Expiration Time:" in body["message"]
    response = verify(client, body)
    assert response.status_code == 200 and response.json()["address"] == holders[0].address
    assert client.session["siwe_address"] == holders[0].address
    assert SiweNonce.objects.get().used_at is not None
    replay = verify(Client(), body)
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "nonce_rejected"


def test_sign_in_rejections(client: Client, chain, holders) -> None:
    body = sign_in(client, holders[0], host="localhost")
    assert verify(client, body).json()["error"]["code"] == "domain_mismatch"
    body = sign_in(client, holders[0])
    other = holders[1].sign_message(encode_defunct(text=body["message"])).signature.to_0x_hex()
    assert verify(client, {**body, "signature": other}).json()["error"]["code"] == "invalid_signature"
    wrong_chain = body["message"].replace("Chain ID: 31337", "Chain ID: 1")
    signature = holders[0].sign_message(encode_defunct(text=wrong_chain)).signature.to_0x_hex()
    assert verify(client, {"message": wrong_chain, "signature": signature}).json()["error"]["code"] == "wrong_chain"
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        assert verify(client, body).json()["error"]["code"] == "expired"
    assert verify(client, {"message": "hello", "signature": "0x00"}).json()["error"]["code"] == "malformed_message"


def test_sign_in_refusals_answer_the_error_shape_naming_the_field(client: Client, chain) -> None:
    response = verify(client, {"message": "hello", "signature": "0x00"})
    assert response.status_code == 401
    error = response.json()["error"]
    assert set(error) == {"code", "message", "field"}
    assert (error["code"], error["field"]) == ("malformed_message", "message")
    assert error["message"].startswith("not an EIP-4361 message")
    issue = client.post(reverse("auth:siwe-message"), {"address": "nope"}, content_type="application/json")
    assert issue.status_code == 400
    issued = issue.json()["error"]
    assert (issued["code"], issued["field"]) == ("invalid_address", "address") and "nope" in issued["message"]


def _form(**changes: str) -> dict[str, str]:
    data = {"title": "Tighten ETH", "description": "# Why\n<script>alert(1)</script>[x](javascript:alert(1)) ok",
            "changes-TOTAL_FORMS": "3", "changes-INITIAL_FORMS": "0", "changes-MIN_NUM_FORMS": "0",
            "changes-MAX_NUM_FORMS": "12"}  # fmt: skip
    data.update(changes)
    return data


def test_create_form_requires_threshold_and_guardrails(client: Client, chain, holders, market, gov_settings) -> None:
    session = client.session
    session["siwe_address"] = holders[0].address
    session.save()
    url = reverse("governance:proposal-new")
    change = {"changes-0-market": "ETH", "changes-0-field": "mmr", "changes-0-new_value": "0.06"}
    chain.powers[holders[0].address] = 10 * WAD
    response = client.post(url, _form(**{**change, "changes-0-new_value": "0.04"}))
    assert response.status_code == 400 and b"below the proposal threshold" in response.content
    chain.powers[holders[0].address] = 5000 * WAD
    response = client.post(url, _form(**change))
    assert response.status_code == 400 and b"rule: rate_order" in response.content  # mmr 0.06 > imr 0.05
    response = client.post(url, _form(**{**change, "changes-0-new_value": "0.04"}))
    assert response.status_code == 302
    proposal = Proposal.objects.get()
    assert "<script>" not in proposal.description_html and "javascript:" not in proposal.description_html
    assert "<h1>Why</h1>" in proposal.description_html
    assert proposal.snapshot_block == chain.block and proposal.proposer_power == Decimal(5000 * WAD)
    assert proposal.impact["markets"][0]["mmr"] == {"current": 0.03, "proposed": 0.04}
    page = client.get(reverse("governance:proposal-detail", args=[proposal.pk]))
    assert page.status_code == 200 and b"Impact preview" in page.content and b"3.00 %" in page.content


def test_create_form_field_errors(client: Client, chain, holders, market, gov_settings) -> None:
    response = client.post(reverse("governance:proposal-new"), _form(title="", **{"changes-0-market": "ETH"}))
    assert response.status_code == 400
    assert b"This field is required" in response.content
    assert b"Give the market, the field and the new value" in response.content


def test_list_filters_by_derived_state(client: Client, chain, holders, market, gov_settings) -> None:
    proposal = make_proposal(chain, holders[0], now=timezone.now())
    assert proposal.title.encode() in client.get(reverse("governance:proposal-list"), {"state": "pending"}).content
    assert proposal.title.encode() not in client.get(reverse("governance:proposal-list"), {"state": "active"}).content


def test_recount_command_and_export(client: Client, chain, holders, market, gov_settings, capsys) -> None:
    proposal = make_proposal(chain, holders[0])
    for index, support in ((1, 1), (2, 0), (3, 2)):
        chain.powers[holders[index].address] = (index * 1000) * WAD
        with time_machine.travel(ACTIVE_AT, tick=False):
            url = reverse("governance:api-votes", args=[proposal.pk])
            assert (
                client.post(
                    url, signed(proposal.pk, support, holders[index]), content_type="application/json"
                ).status_code
                == 201
            )
    call_command("verify_tally", str(proposal.pk))
    assert "recount matches" in capsys.readouterr().out
    session = client.session  # a signed-in recount is recorded (an anonymous one that matches is not)
    session["siwe_address"] = holders[0].address
    session.save()
    client.post(reverse("governance:proposal-recount", args=[proposal.pk]))
    export = client.get(reverse("governance:api-tally", args=[proposal.pk])).json()
    assert export["latest_recount"]["matches"] is True
    assert export["latest_recount"]["source"] == "database"  # no node here: the recount says so
    assert export["domain"]["verifyingContract"] == REGISTRY and len(export["votes"]) == 3
    assert json.loads(json.dumps(export))["tally"]["for"] == str(1000 * WAD)
    Vote.objects.filter(voter=holders[2].address).update(signature=signed(proposal.pk, 1, holders[2])["signature"])
    chain.powers[holders[3].address] = 1
    recount = proposal_recount(proposal)
    assert recount.invalid_signatures == [holders[2].address]
    assert recount.weight_mismatches[0]["voter"] == holders[3].address
    assert not recount.matches
    with pytest.raises(Exception, match="does NOT match"):
        call_command("verify_tally", str(proposal.pk))
    assert AuditRecord.objects.filter(action="proposal.recounted").count() == 1


@given(
    proposal_id=st.integers(0, 2**256 - 1), support=st.integers(0, 2), nonce=st.integers(0, 2**256 - 1),
    chain_id=st.integers(1, 2**64), voter=st.binary(min_size=20, max_size=20),
)  # fmt: skip
def test_fast_digest_equals_eip712(proposal_id: int, support: int, nonce: int, chain_id: int, voter: bytes) -> None:
    address = "0x" + voter.hex()
    ballot = Ballot(proposal_id=proposal_id, support=support, voter=address, nonce=nonce)
    # the reference: eth-account's EIP-712 encoder, independent of chain.eip712's own hashing
    signable = encode_typed_data(
        full_message=ballot_typed_data(ballot, BallotDomain(chain_id=chain_id, verifying_contract=REGISTRY))
    )
    expected = keccak(b"\x19" + signable.version + signable.header + signable.body)
    assert ballot_digest(ballot, BallotDomain(chain_id=chain_id, verifying_contract=REGISTRY)) == expected
    separator = domain_separator(name="RiskGov", version="1", chain_id=chain_id, verifying_contract=REGISTRY)
    assert (
        ballot_digest_fast(separator, proposal_id=proposal_id, support=support, voter=address, nonce=nonce) == expected
    )

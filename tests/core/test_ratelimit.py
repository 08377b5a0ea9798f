"""Rate limits on the shared cache: 429 with Retry-After and the shared error shape, per IP and per subject,
the sign-in lockout, one open identical proposal per proposer, and recounts that do not grow the audit trail."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission as DjangoPermission
from django.contrib.auth.models import User
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

from riskgov.core.models import AuditAction, AuditRecord
from riskgov.core.models.permissions import Permission
from riskgov.governance.models import Proposal
from tests.governance.conftest import WAD, chain, gov_settings, holders, make_proposal, market  # noqa: F401

pytestmark = pytest.mark.django_db

SetLimits = Callable[..., None]
RUNS = Permission.MANAGE_COVERAGE_RUNS


@pytest.fixture
def limits(settings: pytest.FixtureRequest) -> SetLimits:
    """Low rates for the scopes a test names, counted under a key prefix no other test shares."""
    settings.RATELIMIT_CACHE_PREFIX = f"rl-{uuid.uuid4().hex}:"

    def set_limits(**scopes: dict[str, str]) -> None:
        settings.RISKGOV_RATE_LIMITS = {**settings.RISKGOV_RATE_LIMITS, **scopes}

    return set_limits


def _assert_rate_limited_json(response, who: str) -> int:
    assert response.status_code == 429
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 3600
    error = response.json()["error"]
    assert error["code"] == "rate_limited" and error["field"] is None
    assert who in error["message"]
    match = re.search(r"retry in (\d+) s\.$", error["message"])
    assert match is not None and match.group(1) == str(retry_after)
    return retry_after


def _ballot(voter: str) -> dict[str, object]:
    return {"voter": voter, "support": 1, "nonce": 0, "signature": "0x" + "11" * 65}


def test_the_cache_is_redis_shared_by_every_worker() -> None:
    assert caches["default"].__class__.__name__ == "RedisCache"
    key = f"probe-{uuid.uuid4().hex}"
    caches["default"].set(key, 1, 10)
    assert caches["default"].get(key) == 1


def test_vote_intake_is_limited_per_client_ip(client: Client, limits: SetLimits, holders) -> None:  # noqa: F811
    limits(vote={"ip": "2/m", "subject": "100/m"})
    url = reverse("governance:api-votes", args=[987654])
    for holder in holders[:2]:  # counted even though the ballot is then refused (no such proposal)
        assert client.post(url, _ballot(holder.address), content_type="application/json").status_code == 404
    response = client.post(url, _ballot(holders[2].address), content_type="application/json")
    _assert_rate_limited_json(response, "Too many votes from this address")
    other_ip = client.post(url, _ballot(holders[2].address), content_type="application/json", REMOTE_ADDR="10.9.8.7")
    assert other_ip.status_code == 404


def test_vote_intake_is_limited_per_voter_address(client: Client, limits: SetLimits, holders) -> None:  # noqa: F811
    limits(vote={"ip": "100/m", "subject": "1/m"})
    url = reverse("governance:api-votes", args=[987654])
    assert client.post(url, _ballot(holders[0].address), content_type="application/json").status_code == 404
    response = client.post(url, _ballot(holders[0].address), content_type="application/json", REMOTE_ADDR="10.1.1.1")
    _assert_rate_limited_json(response, f"Too many votes for {holders[0].address}")
    assert client.post(url, _ballot(holders[1].address), content_type="application/json").status_code == 404


def test_siwe_nonce_and_verify_are_limited(client: Client, limits: SetLimits, holders, chain) -> None:  # noqa: F811
    limits(siwe_nonce={"ip": "1/m", "subject": "100/m"}, siwe_verify={"ip": "100/m", "subject": "1/m"})
    url = reverse("auth:siwe-message")
    assert client.post(url, {"address": holders[0].address}, content_type="application/json").status_code == 200
    response = client.post(url, {"address": holders[1].address}, content_type="application/json")
    _assert_rate_limited_json(response, "Too many sign-in messages from this address")

    message = f"testserver wants you to sign in with your Ethereum account:\n{holders[0].address}\n\nbad"
    verify = reverse("auth:siwe-verify")
    body = {"message": message, "signature": "0x00"}
    assert client.post(verify, body, content_type="application/json").status_code in (400, 401)
    response = client.post(verify, body, content_type="application/json", REMOTE_ADDR="10.2.2.2")
    _assert_rate_limited_json(response, f"Too many wallet sign-ins for {holders[0].address}")


def test_coverage_run_creation_is_limited_per_user(client: Client, limits: SetLimits) -> None:
    limits(coverage_run_create={"ip": "100/h", "subject": "1/h"})
    alice = User.objects.create_user("alice", password="pw-alice-123")
    alice.user_permissions.add(DjangoPermission.objects.get(content_type__app_label="core", codename=RUNS.value))
    client.force_login(alice)
    url = reverse("insurance:api-runs")
    assert client.post(url, {"paths": 0}, content_type="application/json").status_code == 400
    assert client.get(url).status_code == 200  # reads are not counted
    response = client.post(url, {"paths": 0}, content_type="application/json")
    _assert_rate_limited_json(response, "Too many coverage runs for alice")
    page = client.post(reverse("insurance:run-new"), {"label": "x"})
    assert page.status_code == 429 and b"Too many coverage runs for alice" in page.content


def test_recount_page_answers_a_plain_429_page(client: Client, limits: SetLimits) -> None:
    limits(recount={"ip": "1/m"})
    url = reverse("governance:proposal-recount", args=[987654])
    assert client.post(url).status_code == 404
    response = client.post(url)
    assert response.status_code == 429 and response["Content-Type"].startswith("text/html")
    assert int(response["Retry-After"]) >= 1
    assert b"Too many recounts from this address; retry in" in response.content


def test_admin_login_locks_a_username_after_repeated_failures(client: Client, limits: SetLimits, settings) -> None:
    User.objects.create_user("bob", password="right-password-1", is_staff=True)
    User.objects.create_user("carol", password="right-password-2", is_staff=True)
    limits(login={"ip": "100/m"})
    settings.RISKGOV_LOGIN_LOCKOUT = "3/15m"
    url = reverse("admin:login")
    for _ in range(3):
        response = client.post(url, {"username": "bob", "password": "wrong"})
        assert response.status_code == 200 and b"Please enter the correct username" in response.content
    locked = client.post(url, {"username": "bob", "password": "right-password-1"})
    assert locked.status_code == 429 and int(locked["Retry-After"]) >= 1
    assert b"Sign-in for &#x27;bob&#x27; is locked after 3 failed attempts from this address" in locked.content
    assert "_auth_user_id" not in client.session
    # another account from the same address, and the same account from elsewhere, still sign in
    assert client.post(url, {"username": "carol", "password": "right-password-2"}).status_code == 302
    elsewhere = Client(REMOTE_ADDR="10.3.3.3")
    assert elsewhere.post(url, {"username": "bob", "password": "right-password-1"}).status_code == 302


def test_sign_in_attempts_are_limited_per_ip(client: Client, limits: SetLimits) -> None:
    limits(login={"ip": "2/m"})
    url = reverse("admin:login")
    for name in ("dave", "erin"):
        assert client.post(url, {"username": name, "password": "x"}).status_code == 200
    response = client.post(url, {"username": "frank", "password": "x"})
    assert response.status_code == 429 and b"Too many sign-in attempts from this address" in response.content


def test_an_identical_open_proposal_is_refused_naming_it(
    client: Client,
    chain,  # noqa: F811
    holders,  # noqa: F811
    market,  # noqa: F811
    gov_settings,  # noqa: F811
) -> None:
    first = make_proposal(chain, holders[0], mmr="0.035")
    session = client.session
    session["siwe_address"] = holders[0].address
    session.save()
    form = {
        "title": "Same again",
        "description": "Raise it.",
        "changes-TOTAL_FORMS": "1",
        "changes-INITIAL_FORMS": "0",
        "changes-MIN_NUM_FORMS": "0",
        "changes-MAX_NUM_FORMS": "12",
        "changes-0-market": "ETH",
        "changes-0-field": "mmr",
        "changes-0-new_value": "0.035",
    }
    response = client.post(reverse("governance:proposal-new"), form)
    assert response.status_code == 400
    assert f"Proposal #{first.pk} “Raise ETH maintenance margin” with the same changes is still open" in (
        response.content.decode()
    )
    assert Proposal.objects.count() == 1
    # another value, or the same change from another proposer, is a different proposal
    chain.powers[holders[0].address] = 50_000 * WAD
    response = client.post(reverse("governance:proposal-new"), {**form, "changes-0-new_value": "0.036"})
    assert response.status_code == 302
    make_proposal(chain, holders[1], mmr="0.035")
    assert Proposal.objects.count() == 3


def test_an_anonymous_matching_recount_writes_no_audit_row(
    client: Client,
    chain,  # noqa: F811
    holders,  # noqa: F811
    market,  # noqa: F811
    gov_settings,  # noqa: F811
) -> None:
    proposal = make_proposal(chain, holders[0])
    url = reverse("governance:proposal-recount", args=[proposal.pk])
    recounts = AuditRecord.objects.filter(action=AuditAction.PROPOSAL_RECOUNTED)
    for _ in range(3):
        assert client.post(url).status_code == 302
    assert recounts.count() == 0
    session = client.session
    session["siwe_address"] = holders[1].address
    session.save()
    assert client.post(url).status_code == 302
    assert list(recounts.values_list("actor", flat=True)) == [holders[1].address]
    assert Decimal(0) == Decimal(proposal.votes.count())

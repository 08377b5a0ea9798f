"""The proposal page through its HTML: schedule and countdown, tally and quorum, the "passes if" line, the payload that
executes (calldata checked against an independent ABI encoding), discussion link, timeline, voters (search, sort,
pages, CSV), explorer links, the recount badge, the cancel confirmation, the create form's impact preview, and
late-quorum protection through the vote API, the tick and the page. Browser checks of the JS parts at the end.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from eth_abi import encode
from eth_account import Account
from eth_utils import keccak
from hexbytes import HexBytes

from chain.units import to_fixed
from insurance.models import RunStatus
from insurance.services import coverage_runs
from insurance.services.coverage_execution import coverage_run_execute_inline
from riskgov.core.models import AuditAction
from riskgov.core.models.versions import ChangeSource
from riskgov.core.services.audit import audit_record
from riskgov.governance.domain.state import late_quorum_deadline
from riskgov.governance.models import ImpactPreview, Proposal, ProposalExecution, ProposalState
from riskgov.governance.services.execution import proposal_execute
from riskgov.governance.services.impact_preview import IMPACT_PREVIEW_TASK
from riskgov.governance.services.proposals import ChangeInput, proposal_states_sync
from riskgov.governance.services.tick import governance_tick_run
from riskgov.governance.tasks import governance_impact_preview
from riskgov.markets.services.parameters import margin_parameters_change
from tests.governance import test_chain_anvil as anvil
from tests.governance.conftest import ACTIVE_AT, AFTER_END, REGISTRY, T0, WAD, make_proposal, signed
from tests.governance.test_chain_anvil import deployed, node  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db

STARTS = T0 + timedelta(seconds=60)
ENDS = T0 + timedelta(seconds=60 + 3600)


def sign_in(client: Client, address: str) -> None:
    """A wallet session that is still valid in the tests' 2030 (sessions expire by the clock)."""
    with time_machine.travel(T0, tick=False):
        session = client.session
        session["siwe_address"] = address
        session.save()


def vote(client: Client, proposal: Proposal, support: int, voter: Any, *, at: Any = ACTIVE_AT, nonce: int = 0) -> Any:
    with time_machine.travel(at, tick=False):
        return client.post(
            reverse("governance:api-votes", args=[proposal.pk]),
            signed(proposal.pk, support, voter, nonce),
            content_type="application/json",
        )


def page_html(client: Client, proposal: Proposal, *, at: Any = ACTIVE_AT, **query: str) -> str:
    with time_machine.travel(at, tick=False):
        response = client.get(reverse("governance:proposal-detail", args=[proposal.pk]), query)
    assert response.status_code == 200
    return response.content.decode()


def text_of(html: str, element_id: str) -> str:
    """The text inside the element with `element_id` (tags dropped, whitespace collapsed)."""
    match = re.search(rf'<(\w+)[^>]*id="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    assert match, f"no #{element_id}"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(2)).split())


@pytest.fixture
def proposal(chain, holders, market, gov_settings) -> Proposal:
    for holder, tokens in zip(holders[1:], (30_000, 10_000, 5_000, 20_000), strict=False):
        chain.powers[holder.address] = tokens * WAD
    return make_proposal(chain, holders[0])


# ------------------------------------------------------------------ schedule, tally, quorum, passes-if


def test_countdown_counts_to_the_start_then_to_the_end(client: Client, proposal: Proposal) -> None:
    pending = page_html(client, proposal, at=T0 + timedelta(seconds=10))
    assert f'data-countdown="{STARTS.isoformat()}"' in pending and "Voting starts in" in pending
    assert f'data-server-now="{int((T0 + timedelta(seconds=10)).timestamp())}"' in pending  # counts on server time
    assert "js/proposal.js" in pending  # the countdown ticks in the browser between requests
    assert f'datetime="{STARTS.isoformat()}"' in pending and f'datetime="{ENDS.isoformat()}"' in pending
    active = page_html(client, proposal)
    assert f'data-countdown="{ENDS.isoformat()}"' in active and "Voting ends in" in active
    assert "59 minutes" in text_of(active, "countdown")  # server-rendered: ENDS is 59 min after ACTIVE_AT
    closed = page_html(client, proposal, at=AFTER_END)
    assert "data-countdown" not in closed


def test_tally_bars_are_shares_of_votes_cast_and_quorum_is_capped(client: Client, proposal: Proposal, holders) -> None:
    for support, holder in ((1, holders[1]), (0, holders[2]), (2, holders[3])):
        assert vote(client, proposal, support, holder).status_code == 201
    html = page_html(client, proposal)
    # 30,000 For, 10,000 Against, 5,000 Abstain of 45,000 cast; quorum 4 % of 1,000,000 = 40,000
    assert re.search(r'class="bar bar-for" max="100" value="66.67"', html)
    assert re.search(r'class="bar bar-against" max="100" value="22.22"', html)
    assert re.search(r'class="bar bar-abstain" max="100" value="11.11"', html)
    for row, amount in (("tally-for", "30,000"), ("tally-against", "10,000"), ("tally-abstain", "5,000")):
        assert f"<strong>{amount}</strong>" in html.split(f'id="{row}"')[1].split("</div>")[0]  # all alike
    assert text_of(html, "quorum-figure") == "35,000 / 40,000 88 %"
    passes = text_of(html, "passes-if")
    assert "Passes if, when voting closes, For is more than Against and For + Abstain reach the quorum" in passes
    assert "✓ For leads" in passes and "✗ 5,000 more needed" in passes

    assert vote(client, proposal, 1, holders[4]).status_code == 201  # For + Abstain 55,000 > quorum
    html = page_html(client, proposal)
    assert text_of(html, "quorum-figure") == "40,000 / 40,000 100 %"  # capped, never 137 %
    assert re.search(r'class="bar bar-quorum" max="100" value="100.00"', html)
    assert "✓ quorum reached" in text_of(html, "passes-if")
    fragment = client.get(reverse("governance:proposal-tally", args=[proposal.pk])).content.decode()
    assert "40,000 / 40,000" in fragment and 'id="tally"' in fragment


# ------------------------------------------------------------------ the payload that executes


def _expected_calldata(values: list[int]) -> str:
    signature = "setParameters(bytes32,uint256,uint256,uint256,uint256,uint256,uint256)"
    market = b"ETH-USD".ljust(32, b"\x00")
    return "0x" + (keccak(text=signature)[:4] + encode(["bytes32"] + ["uint256"] * 6, [market, *values])).hex()


def test_payload_shows_market_field_old_new_and_the_registry_calldata(client: Client, proposal: Proposal) -> None:
    html = page_html(client, proposal)
    payload = html.split('id="payload"')[1].split("</section>")[0]
    assert "ETH" in payload and "<code>ETH-USD</code>" in payload and REGISTRY in payload
    assert "Maintenance margin rate (fraction): 3.00 % → <strong>3.50 %</strong>" in payload
    # the market's parameters (conftest) with the proposed mmr; the OI cap as execution converts it
    values = [5 * 10**16, 35 * 10**15, 20 * WAD, 10**16, 2 * 10**17, to_fixed(Decimal("500000000") / Decimal("3000"))]
    assert _expected_calldata(values) in payload
    assert "setParameters(bytes32,uint256,uint256,uint256,uint256,uint256,uint256)" in payload
    assert "The call as it would be sent now" in payload


def test_recorded_execution_shows_its_calldata_and_linked_transaction(client: Client, proposal: Proposal, settings):
    targets = {"imr": "1", "mmr": "2", "maxLeverage": "3", "liquidationPenalty": "4", "insuranceFeeShare": "5",
               "oiCap": "6"}  # fmt: skip
    tx = "0x" + "ab" * 32
    ProposalExecution.objects.create(
        proposal=proposal, market=proposal.changes.get().market, registry_values=targets, tx_hash=tx,
        block_number=7, registry_version=2, pushed_at=ACTIVE_AT,
    )  # fmt: skip
    audit_record(action=AuditAction.PROPOSAL_EXECUTED, subject=proposal, actor="system",
                 data={"from": "queued", "to": "executed", "transactions": {"ETH": tx}})  # fmt: skip
    settings.RISKGOV_BLOCK_EXPLORER_TX_URL = "https://etherscan.io/tx/{hash}"
    html = page_html(client, proposal)
    assert _expected_calldata([1, 2, 3, 4, 5, 6]) in html and "This is the call that was sent" in html
    link = f'href="https://etherscan.io/tx/{tx}"'
    assert html.count(link) == 3  # payload, executions table and timeline
    settings.RISKGOV_BLOCK_EXPLORER_TX_URL = ""
    html = page_html(client, proposal)
    assert "etherscan" not in html and html.count(f'title="{tx}"') == 3  # the hash, without a link


# ------------------------------------------------------------------ discussion link


def _form(**extra: str) -> dict[str, str]:
    return {"title": "Tighten ETH", "description": "Volatility is up.", "changes-TOTAL_FORMS": "1",
            "changes-INITIAL_FORMS": "0", "changes-MIN_NUM_FORMS": "0", "changes-MAX_NUM_FORMS": "12",
            "changes-0-market": "ETH", "changes-0-field": "mmr", "changes-0-new_value": "0.035", **extra}  # fmt: skip


@pytest.mark.parametrize("url", ["ftp://forum.example/t/1", "javascript:alert(1)", "not a link"])
def test_discussion_link_must_be_http_or_https(client: Client, chain, holders, market, gov_settings, url) -> None:
    sign_in(client, holders[0].address)
    chain.powers[holders[0].address] = 5000 * WAD
    response = client.post(reverse("governance:proposal-new"), _form(discussion_url=url))
    assert response.status_code == 400
    error = re.search(r'id="discussion-url-error">([^<]+)<', response.content.decode())
    assert error and "http" in error.group(1)
    assert not Proposal.objects.exists()


def test_discussion_link_is_stored_and_shown(client: Client, chain, holders, market, gov_settings) -> None:
    sign_in(client, holders[0].address)
    chain.powers[holders[0].address] = 5000 * WAD
    response = client.post(reverse("governance:proposal-new"), _form(discussion_url="https://forum.example/t/42"))
    assert response.status_code == 302
    proposal = Proposal.objects.get()
    assert proposal.discussion_url == "https://forum.example/t/42"
    html = client.get(reverse("governance:proposal-detail", args=[proposal.pk])).content.decode()
    assert 'id="discussion-link" href="https://forum.example/t/42"' in html
    api = client.get(reverse("governance:api-proposal", args=[proposal.pk])).json()
    assert api["discussion_url"] == "https://forum.example/t/42"


# ------------------------------------------------------------------ timeline


def test_timeline_has_votes_quorum_queue_and_automatic_parameter_changes(
    client: Client, proposal: Proposal, holders
) -> None:
    assert vote(client, proposal, 1, holders[1]).status_code == 201
    assert vote(client, proposal, 1, holders[4], at=ACTIVE_AT + timedelta(seconds=5)).status_code == 201
    with time_machine.travel(ACTIVE_AT + timedelta(seconds=10), tick=False):
        margin_parameters_change(
            market=proposal.changes.get().market, changes={"imr": Decimal("0.045")}, source=ChangeSource.POLICY,
            reason="volatility-scaled policy", actor="policy",
        )  # fmt: skip
    with time_machine.travel(AFTER_END, tick=False):
        assert proposal_states_sync()["queued"] == [proposal.pk]
    html = page_html(client, proposal, at=AFTER_END)
    timeline = html.split('id="timeline"')[1].split("</ol>")[0]
    items = [" ".join(re.sub(r"<[^>]+>", " ", "<li" + li).split()) for li in timeline.split("<li")[1:]]
    titles = [re.sub(r"^\S+ \S+ ", "", item) for item in items]  # drop the date and time
    assert titles[0].startswith("Proposal created")
    assert titles[1] == "Voting opens"
    assert titles[2] == f"Vote For — 30,000.00 votes {holders[1].address}"
    assert titles[3] == f"Vote For — 20,000.00 votes {holders[4].address}"
    assert titles[4] == "Quorum reached"
    assert titles[5] == "Automatic change (margin policy): ETH parameters v2 volatility-scaled policy"
    assert "Voting closes as scheduled" in titles
    assert any(t.startswith("Queued (timelock started) executable from") for t in titles)
    assert any(t.startswith("State: Succeeded") for t in titles)


# ------------------------------------------------------------------ voters


@pytest.fixture
def crowd(chain, proposal: Proposal, client: Client) -> list[Any]:
    """30 voters with distinct weights (1,000 … 30,000 votes), casting For/Against/Abstain in turn."""
    voters = [Account.from_key(bytes([i + 40]) * 32) for i in range(30)]
    for index, voter in enumerate(voters):
        chain.powers[voter.address] = (index + 1) * 1000 * WAD
        response = vote(client, proposal, index % 3, voter, at=ACTIVE_AT + timedelta(seconds=index))
        assert response.status_code == 201, response.content
    return voters


def _voter_rows(html: str) -> list[str]:
    table = html.split('id="voters"')[1].split("</table>", maxsplit=1)[0]
    return re.findall(r'<td class="mono small">(0x[0-9a-fA-F]{40})</td>', table)


def test_voters_are_sorted_searched_and_paginated_through_htmx(client: Client, proposal: Proposal, crowd) -> None:
    url = reverse("governance:proposal-voters", args=[proposal.pk])
    heaviest_first = [v.address for v in reversed(crowd)]
    first = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert _voter_rows(first) == heaviest_first[:25] and "30 voters · page 1 of 2" in first
    assert f'hx-get="{url}?q=&amp;sort=-weight&amp;page=2"' in first
    second = client.get(url, {"page": "2"}, HTTP_HX_REQUEST="true").content.decode()
    assert _voter_rows(second) == heaviest_first[25:]
    oldest = client.get(url, {"sort": "created_at"}, HTTP_HX_REQUEST="true").content.decode()
    assert _voter_rows(oldest) == [v.address for v in crowd[:25]]
    needle = crowd[7].address[2:12].lower()
    found = client.get(url, {"q": needle}, HTTP_HX_REQUEST="true").content.decode()
    assert _voter_rows(found) == [crowd[7].address]
    nothing = client.get(url, {"q": "zzz"}, HTTP_HX_REQUEST="true").content.decode()
    assert _voter_rows(nothing) == [] and "No voter matches" in nothing
    bad = client.get(url, {"sort": "pwned", "q": "x" * 101}, HTTP_HX_REQUEST="true").content.decode()
    assert "sort: Select a valid choice" in bad and "q: Ensure this value has at most 100 characters" in bad
    assert _voter_rows(bad) == heaviest_first[:25]  # bad values fall back to the defaults, and say so
    plain = client.get(url, {"page": "2"})  # without htmx: the full page at the same place
    assert plain.status_code == 302 and plain["Location"].endswith("?page=2#voters")
    full = page_html(client, proposal, page="2")
    assert _voter_rows(full) == heaviest_first[25:]


def test_voters_export_as_csv_with_the_same_search_and_order(client: Client, proposal: Proposal, crowd) -> None:
    url = reverse("governance:proposal-voters-csv", args=[proposal.pk])
    response = client.get(url, {"sort": "weight"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert f'filename="proposal-{proposal.pk}-voters.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["voter"] for r in rows] == [v.address for v in crowd]  # lightest first: all 30, not one page
    assert rows[0]["weight_wei"] == str(1000 * WAD) and rows[0]["weight_votes"] == "1000"
    assert (rows[1]["support"], rows[1]["support_label"]) == ("1", "For")
    assert rows[0]["signature"].startswith("0x") and rows[0]["created_at"].startswith("2030-01-01T12:02:00")
    filtered = client.get(url, {"q": crowd[3].address.lower()})
    lines = b"".join(filtered.streaming_content).decode().strip().splitlines()
    assert len(lines) == 2 and crowd[3].address in lines[1]


# ------------------------------------------------------------------ recount badge


def test_recount_badge_counts_votes_at_recount_time_and_goes_outdated(
    client: Client, proposal: Proposal, holders
) -> None:
    sign_in(client, holders[0].address)  # a signed-in recount is recorded publicly
    assert vote(client, proposal, 1, holders[1]).status_code == 201
    with time_machine.travel(ACTIVE_AT + timedelta(seconds=1), tick=False):
        client.post(reverse("governance:proposal-recount", args=[proposal.pk]))
    html = page_html(client, proposal)
    assert "Recount matches" in html and text_of(html, "recount-summary") == "1 of 1 vote recounted"
    for holder in holders[2:4]:
        assert vote(client, proposal, 0, holder, at=ACTIVE_AT + timedelta(seconds=2)).status_code == 201
    html = page_html(client, proposal)
    assert "Recount outdated" in html and "Recount matches" not in html
    assert text_of(html, "recount-summary") == "1 of 3 votes recounted — 2 votes added since; recount again"
    with time_machine.travel(ACTIVE_AT + timedelta(seconds=3), tick=False):
        client.post(reverse("governance:proposal-recount", args=[proposal.pk]))
    html = page_html(client, proposal)
    assert "Recount matches" in html and text_of(html, "recount-summary") == "3 of 3 votes recounted"


# ------------------------------------------------------------------ cancel confirmation


def test_cancel_asks_for_confirmation_first(client: Client, proposal: Proposal, holders) -> None:
    sign_in(client, holders[0].address)
    at = T0 + timedelta(seconds=10)
    html = page_html(client, proposal, at=at)
    cancel_url = reverse("governance:proposal-cancel", args=[proposal.pk])
    assert f'id="cancel-button" href="{cancel_url}"' in html
    assert f'action="{cancel_url}"' not in html  # the page itself has no one-click cancel
    with time_machine.travel(at, tick=False):
        confirm = client.get(cancel_url).content.decode()
        assert (
            "Canceling is final" in confirm and 'id="confirm-cancel"' in confirm and f'action="{cancel_url}"' in confirm
        )
        assert Proposal.objects.get().canceled_at is None  # looking at the question changes nothing
        response = client.post(cancel_url)
    assert response.status_code == 302
    assert "Canceled" in text_of(page_html(client, proposal, at=at), "proposal-state")

    other = Client()
    sign_in(other, holders[1].address)
    with time_machine.travel(at, tick=False):
        refused = other.get(cancel_url).content.decode()
    assert 'id="cannot-cancel"' in refused and 'id="confirm-cancel"' not in refused


# ------------------------------------------------------------------ impact preview on the create form


def _changes(**row: str) -> dict[str, str]:
    return {"changes-TOTAL_FORMS": "1", "changes-INITIAL_FORMS": "0", "changes-MIN_NUM_FORMS": "0",
            "changes-MAX_NUM_FORMS": "12", **{f"changes-0-{k}": v for k, v in row.items()}}  # fmt: skip


def test_create_form_previews_the_impact_on_the_workers_with_progress(
    client: Client, chain, holders, gov_settings, monkeypatch, django_capture_on_commit_callbacks,
    _tasks_stay_off_the_broker,
) -> None:  # fmt: skip
    from tests.insurance.conftest import build_book

    build_book()
    monkeypatch.setattr(coverage_runs, "coverage_run_enqueue", lambda *, run_id: 0)  # chunks wait for a worker
    sign_in(client, holders[0].address)
    chain.powers[holders[0].address] = 5000 * WAD
    form = client.get(reverse("governance:proposal-new")).content.decode()
    start_url = reverse("governance:impact-preview-start")
    assert f'hx-post="{start_url}"' in form and 'id="impact-preview"' in form

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(start_url, _changes(market="ETH", field="mmr", new_value="0.035"))
    assert response.status_code == 202
    preview = ImpactPreview.objects.get()
    poll_url = reverse("governance:impact-preview", args=[preview.pk])
    html = response.content.decode()
    assert f'hx-get="{poll_url}"' in html and 'data-state="pending"' in html and "<progress" in html
    assert "Queued: a worker computes the position figures" in html
    assert [(name, kwargs) for name, _, kwargs, _ in _tasks_stay_off_the_broker] == [
        (IMPACT_PREVIEW_TASK, {"preview_id": preview.pk})
    ]  # the request computed nothing itself
    assert not Proposal.objects.exists() and preview.impact == {}

    with django_capture_on_commit_callbacks(execute=True):  # what the worker does; twice changes nothing
        governance_impact_preview(preview_id=preview.pk)
        governance_impact_preview(preview_id=preview.pk)
    preview.refresh_from_db()
    assert preview.impact["markets"][0]["mmr"] == {"current": 0.03, "proposed": 0.035}
    running = client.get(poll_url).content.decode()
    assert 'id="impact"' in running and 'data-state="running"' in running
    assert re.search(r'<progress class="preview-progress" max="\d+" value="0">', running)
    assert f'hx-get="{poll_url}"' in running  # still polling

    for run in (preview.coverage_current, preview.coverage_proposed):
        assert coverage_run_execute_inline(run=run).status == RunStatus.SUCCEEDED
    done = client.get(poll_url).content.decode()
    assert 'data-state="done"' in done and "hx-get" not in done and "Paired difference" in done
    assert not Proposal.objects.exists()  # previewing proposes nothing


def test_impact_preview_refusals_name_the_reason(client: Client, chain, holders, market, gov_settings) -> None:
    url = reverse("governance:impact-preview-start")
    anonymous = client.post(url, _changes(market="ETH", field="mmr", new_value="0.035"))
    assert anonymous.status_code == 400 and b"Sign in with a wallet to preview" in anonymous.content
    sign_in(client, holders[0].address)
    chain.powers[holders[0].address] = 5000 * WAD
    broken = client.post(url, _changes(market="ETH", field="mmr", new_value="0.06"))  # above imr 5 %
    assert broken.status_code == 400 and b"rule: rate_order" in broken.content
    partial = client.post(url, _changes(market="ETH"))
    assert partial.status_code == 400 and b"row 1: Give the market, the field and the new value" in partial.content
    chain.powers[holders[0].address] = 10 * WAD
    weak = client.post(url, _changes(market="ETH", field="mmr", new_value="0.035"))
    assert weak.status_code == 400 and b"below the proposal threshold" in weak.content
    assert not ImpactPreview.objects.exists()


# ------------------------------------------------------------------ late-quorum protection


def test_late_quorum_deadline_rule() -> None:
    def deadline(before_end: int, extension: int) -> object:
        return late_quorum_deadline(
            voting_ends_at=ENDS, vote_at=ENDS - timedelta(seconds=before_end), vote_extension_seconds=extension
        )

    assert deadline(60, 600) == ENDS + timedelta(seconds=540)  # quorum a minute before the end: open 10 min more
    assert deadline(600, 600) is None  # exactly the extension before the end: nothing to extend
    assert deadline(1, 0) is None  # protection off


@pytest.fixture
def late_proposal(settings, chain, holders, market, gov_settings) -> Proposal:
    settings.RISKGOV_GOVERNANCE_VOTE_EXTENSION_SECONDS = 600
    for holder, tokens in zip(holders[1:], (50_000, 10_000, 5_000), strict=False):
        chain.powers[holder.address] = tokens * WAD
    proposal = make_proposal(chain, holders[0])
    settings.RISKGOV_GOVERNANCE_VOTE_EXTENSION_SECONDS = 0  # frozen at creation: a later change does not apply
    return proposal


def _api(client: Client, proposal: Proposal, at: Any) -> dict[str, Any]:
    with time_machine.travel(at, tick=False):
        return client.get(reverse("governance:api-proposal", args=[proposal.pk])).json()


def test_a_late_quorum_extends_voting_once(client: Client, late_proposal: Proposal, holders) -> None:
    proposal = late_proposal
    assert proposal.vote_extension_seconds == 600
    late = ENDS - timedelta(seconds=60)
    assert vote(client, proposal, 1, holders[1], at=late).status_code == 201  # 50,000 ≥ quorum 40,000
    extended = late + timedelta(seconds=600)
    api = _api(client, proposal, ENDS + timedelta(seconds=1))
    assert api["voting_ends_at"] == extended.isoformat().replace("+00:00", "Z")
    assert api["voting_extended_from"] == ENDS.isoformat().replace("+00:00", "Z")
    assert api["state"] == "active"  # past the scheduled end, still open
    with time_machine.travel(ENDS + timedelta(seconds=1), tick=False):
        assert governance_tick_run()["changed"] == [proposal.pk]  # pending → active, not succeeded
    assert Proposal.objects.get().state == ProposalState.ACTIVE
    html = page_html(client, proposal, at=ENDS + timedelta(seconds=1))
    assert 'id="extended-badge"' in html and f'data-countdown="{extended.isoformat()}"' in html
    assert "Voting extended (late quorum)" in html and "Voting closes (extended by a late quorum)" in html

    # a later vote, also near the (new) end, does not extend again
    again = extended - timedelta(seconds=30)
    assert vote(client, proposal, 0, holders[2], at=again).status_code == 201
    assert Proposal.objects.get().voting_ends_at == extended
    assert _api(client, proposal, extended - timedelta(seconds=1))["state"] == "active"
    assert vote(client, proposal, 2, holders[3], at=extended).json()["error"]["code"] == "voting_closed"
    assert _api(client, proposal, extended)["state"] == "succeeded"
    with time_machine.travel(extended, tick=False):
        assert governance_tick_run()["queued"] == [proposal.pk]


def test_an_early_quorum_does_not_extend(client: Client, late_proposal: Proposal, holders) -> None:
    proposal = late_proposal
    assert vote(client, proposal, 1, holders[1]).status_code == 201  # quorum an hour before the end
    stored = Proposal.objects.get()
    assert stored.quorum_reached_at == ACTIVE_AT and stored.voting_ends_at == ENDS
    assert stored.voting_extended_from is None
    assert vote(client, proposal, 1, holders[2], at=ENDS - timedelta(seconds=5)).status_code == 201
    assert Proposal.objects.get().voting_ends_at == ENDS  # quorum was reached already: no extension
    assert _api(client, proposal, ENDS)["state"] == "succeeded"
    assert 'id="extended-badge"' not in page_html(client, proposal, at=ENDS)


def test_no_extension_when_created_without_one(client: Client, proposal: Proposal, holders) -> None:
    assert proposal.vote_extension_seconds == 0  # the test settings turn it off
    chain_vote = vote(client, proposal, 1, holders[1], at=ENDS - timedelta(seconds=1))
    assert chain_vote.status_code == 201
    assert vote(client, proposal, 1, holders[4], at=ENDS - timedelta(seconds=1)).status_code == 201
    assert Proposal.objects.get().voting_ends_at == ENDS


# ------------------------------------------------------------------ no inline scripts, styles or handlers


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>"), "an inline <script>"),
    (re.compile(r"\sstyle\s*="), "a style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an on* handler"),
]


def test_pages_have_no_inline_scripts_styles_or_handlers(client: Client, proposal: Proposal, holders) -> None:
    sign_in(client, holders[0].address)
    assert vote(client, proposal, 1, holders[1]).status_code == 201
    with time_machine.travel(ACTIVE_AT, tick=False):
        pages = {
            "list": client.get(reverse("governance:proposal-list")),
            "new": client.get(reverse("governance:proposal-new")),
            "detail": client.get(reverse("governance:proposal-detail", args=[proposal.pk])),
            "cancel": client.get(reverse("governance:proposal-cancel", args=[proposal.pk])),
            "voters": client.get(reverse("governance:proposal-voters", args=[proposal.pk]), HTTP_HX_REQUEST="true"),
            "tally": client.get(reverse("governance:proposal-tally", args=[proposal.pk])),
        }
    for name, response in pages.items():
        assert response.status_code == 200, name
        html = response.content.decode()
        for pattern, what in INLINE:
            assert not pattern.search(html), f"{name} has {what}: {pattern.search(html)}"


# ------------------------------------------------------------------ Chromium: countdown, confirmation, preview progress


@pytest.fixture
def browser_page() -> Any:
    from tests.conftest import REPO_ROOT, chromium_page

    with chromium_page(REPO_ROOT / "test-artifacts" / "governance", viewport={"width": 1360, "height": 1000}) as page:
        yield page


def _browser_sign_in(page: Any, base_url: str, address: str) -> None:
    from django.conf import settings
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session["siwe_address"] = address
    session.create()
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": base_url}])


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_browser_countdown_ticks_and_cancel_asks_first(
    live_server: Any, browser_page: Any, chain, holders, market, gov_settings
) -> None:
    from django.utils import timezone

    page = browser_page
    proposal = make_proposal(chain, holders[0], now=timezone.now())  # voting opens in 60 s
    _browser_sign_in(page, live_server.url, holders[0].address)
    page.clock.install(time=timezone.now() + timedelta(hours=2))  # this computer's clock is two hours fast
    page.goto(f"{live_server.url}/governance/{proposal.pk}/")
    countdown = page.locator("#countdown")
    first = countdown.inner_text()
    assert re.fullmatch(r"(\d+ min )?\d+ s", first), first  # the script's form, counted on the server's clock
    page.clock.run_for(3000)
    assert countdown.inner_text() != first  # it ticks without a request
    page.screenshot(path=str(page_artifact("11-countdown")))

    page.click("#cancel-button")
    page.wait_for_selector("#confirm-cancel")
    assert "Canceling is final" in page.inner_text("#cancel-confirm")
    assert Proposal.objects.get().canceled_at is None  # asked, not done
    page.screenshot(path=str(page_artifact("12-cancel-confirm")))
    page.click("#confirm-cancel")
    page.wait_for_selector("#proposal-state:has-text('Canceled')")
    assert Proposal.objects.get().canceled_at is not None


def page_artifact(name: str) -> Any:
    from tests.conftest import REPO_ROOT

    return REPO_ROOT / "test-artifacts" / "governance" / f"{name}.png"


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_browser_impact_preview_shows_progress_from_the_workers(
    live_server: Any, celery_worker_process: Any, browser_page: Any, chain, holders, gov_settings
) -> None:
    from tests.insurance.conftest import build_book

    build_book()
    chain.powers[holders[0].address] = 5000 * WAD
    page = browser_page
    _browser_sign_in(page, live_server.url, holders[0].address)
    page.goto(f"{live_server.url}/governance/new/")
    page.select_option("select[name=changes-0-market]", "ETH")
    page.select_option("select[name=changes-0-field]", "mmr")
    page.fill("input[name=changes-0-new_value]", "0.035")
    page.click("#preview-button")
    page.wait_for_selector("#impact-preview progress", state="attached")  # queued or simulating: a progress bar
    page.screenshot(path=str(page_artifact("13-impact-preview-progress")))
    page.wait_for_selector("#impact-preview[data-state=done]", timeout=150_000)  # the workers finished both runs
    page.screenshot(path=str(page_artifact("14-impact-preview-done")), full_page=True)
    assert page.locator("#impact-preview #impact").count() == 1  # the position figures
    assert page.locator("#impact-preview .coverage-side a").count() == 2  # both coverage runs, linked
    assert "Paired difference" in page.inner_text("#impact-preview")
    preview = ImpactPreview.objects.get()
    assert preview.coverage_current.status == preview.coverage_proposed.status == RunStatus.SUCCEEDED
    assert not Proposal.objects.exists()


# ------------------------------------------------------------------ on Anvil: the page's calldata is what executes


def _calldata(html: str) -> list[str]:
    return re.findall(r'<pre class="mono small calldata-hex">(0x[0-9a-f]+)</pre>', html)


@pytest.mark.integration
def test_execution_sends_exactly_the_calldata_the_page_shows(deployed: Any, settings, client: Client) -> None:  # noqa: F811
    env = deployed
    settings.RISKGOV_BLOCK_EXPLORER_TX_URL = "https://explorer.example/tx/{hash}"
    proposal = anvil._create(env, [ChangeInput("ETH", "mmr", Decimal("0.035"))])
    anvil._vote_for(env, proposal, sorted(env["summary"]["self_delegated"]))
    before = _calldata(client.get(reverse("governance:proposal-detail", args=[proposal.pk])).content.decode())
    end = proposal.voting_ends_at + timedelta(seconds=1)
    with time_machine.travel(end, tick=False):
        assert proposal_states_sync()["queued"] == [proposal.pk]
    with time_machine.travel(end + timedelta(seconds=601), tick=False):
        proposal_execute(proposal_id=proposal.pk)
    execution = ProposalExecution.objects.get(proposal=proposal)
    sent = env["client"].w3.eth.get_transaction(execution.tx_hash)
    html = client.get(reverse("governance:proposal-detail", args=[proposal.pk])).content.decode()
    assert _calldata(html) == [HexBytes(sent["input"]).to_0x_hex()] == before  # shown before, sent, recorded
    assert sent["to"] == proposal.verifying_contract
    assert html.count(f'href="https://explorer.example/tx/{execution.tx_hash}"') == 3


def test_proposal_page_queries_do_not_grow_with_votes(
    client: Client, proposal: Proposal, chain, django_assert_max_num_queries
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            page_html(client, proposal, at=ACTIVE_AT + timedelta(minutes=5))
        return len(captured)

    voters = [Account.from_key(bytes([i + 90]) * 32) for i in range(30)]
    for index, voter in enumerate(voters[:3]):
        chain.powers[voter.address] = (index + 1) * WAD
        assert vote(client, proposal, index % 3, voter).status_code == 201
    few = queries()
    for index, voter in enumerate(voters[3:], start=3):
        chain.powers[voter.address] = (index + 1) * WAD
        assert vote(client, proposal, index % 3, voter).status_code == 201
    assert queries() == few  # no query per vote (timeline, voters table, tally)
    with django_assert_max_num_queries(20):  # 16 when written
        page_html(client, proposal, at=ACTIVE_AT + timedelta(minutes=5))


def test_a_proposal_keeps_the_coverage_runs_previewed_for_exactly_its_changes(
    client: Client, chain, holders, gov_settings, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    from insurance.models import CoverageRun
    from riskgov.governance.tasks import governance_coverage_preview
    from tests.insurance.conftest import build_book

    build_book()
    monkeypatch.setattr(coverage_runs, "coverage_run_enqueue", lambda *, run_id: 0)
    sign_in(client, holders[0].address)
    chain.powers[holders[0].address] = 5000 * WAD
    row = {"market": "ETH", "field": "mmr", "new_value": "0.035"}
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("governance:impact-preview-start"), _changes(**row))
    preview = ImpactPreview.objects.get()
    governance_impact_preview(preview_id=preview.pk)
    preview.refresh_from_db()
    fragment = client.get(reverse("governance:impact-preview", args=[preview.pk])).content.decode()
    assert f'name="impact_preview" value="{preview.pk}"' in fragment  # submitted with the form

    form = {"title": "Tighten ETH", "description": "Volatility is up.", "impact_preview": str(preview.pk),
            **_changes(**row)}  # fmt: skip
    assert client.post(reverse("governance:proposal-new"), form).status_code == 302
    proposal = Proposal.objects.get()
    assert (proposal.coverage_current_id, proposal.coverage_proposed_id) == (
        preview.coverage_current_id,
        preview.coverage_proposed_id,
    )
    governance_coverage_preview(proposal_id=proposal.pk)  # the task sent on creation starts nothing more
    assert CoverageRun.objects.count() == 2

    other = {**form, "title": "Tighten ETH more", "changes-0-new_value": "0.04"}  # not what was previewed
    assert client.post(reverse("governance:proposal-new"), other).status_code == 302
    assert Proposal.objects.get(title="Tighten ETH more").coverage_current_id is None

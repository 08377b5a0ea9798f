"""The proposal admin shows each proposal's derived state from its votes, in a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.urls import reverse

from riskgov.governance.models import Proposal, Vote
from tests.governance.conftest import T0, WAD, make_proposal

pytestmark = pytest.mark.django_db

AFTER_VOTING = T0 + timedelta(seconds=60 + 3600 + 5)
# session, user, filtered and full counts, the page of proposals, their tallies, and whether the settings row
# exists (the sidebar's "add" links)
CHANGELIST_QUERIES = 7


def _decided_proposals(chain, holders, count: int) -> None:
    """`count` proposals whose stored tally columns are stale: half won (For), half lost (Against).

    Each proposes another margin, since a proposer cannot open the same change twice."""
    for index in range(count):
        mmr = Decimal("0.031") + Decimal(Proposal.objects.count()) / 1000
        proposal = make_proposal(chain, holders[index % 5], mmr=str(mmr))
        Vote.objects.create(proposal=proposal, voter=holders[5].address, support=1 if index % 2 == 0 else 0,
                            weight=Decimal(900_000 * WAD), nonce=proposal.pk, signature="0x00")  # fmt: skip


@pytest.fixture
def admin_client(client):
    with time_machine.travel(AFTER_VOTING, tick=False):
        client.force_login(get_user_model().objects.create_superuser("steward", password="pw"))
        yield client


def test_changelist_states_come_from_votes_and_queries_do_not_grow_with_rows(
    admin_client, chain, holders, market, gov_settings, django_assert_num_queries
):
    url = reverse("admin:governance_proposal_changelist")
    _decided_proposals(chain, holders, 2)
    with django_assert_num_queries(CHANGELIST_QUERIES):
        admin_client.get(url)
    _decided_proposals(chain, holders, 6)

    with django_assert_num_queries(CHANGELIST_QUERIES):
        page = admin_client.get(url).content.decode()

    assert page.count('<td class="field-current_state">Succeeded</td>') == 4
    assert page.count('<td class="field-current_state">Defeated</td>') == 4


def test_change_page_is_read_only_with_the_derived_state(admin_client, chain, holders, market, gov_settings):
    _decided_proposals(chain, holders, 1)
    proposal = Proposal.objects.get()
    url = reverse("admin:governance_proposal_change", args=[proposal.pk])

    page = admin_client.get(url)

    body = page.content.decode()
    assert page.status_code == 200 and "Succeeded" in body and 'name="title"' not in body
    assert admin_client.post(url, {"title": "renamed"}).status_code == 403
    assert Proposal.objects.get().title == proposal.title


def test_relay_rows_list_each_ballots_outcome_read_only(admin_client, chain, holders, market, gov_settings):
    from riskgov.governance.models import VoteRelay, VoteRelayStatus

    _decided_proposals(chain, holders, 1)
    vote = Vote.objects.get()
    relay = VoteRelay.objects.create(
        vote=vote, status=VoteRelayStatus.REVERTED, relayer=holders[0].address, attempts=1,
        revert_reason="GovernorInvalidSignature(signer=0x0): signed with nonce 0, already used (the next is 1)",
    )  # fmt: skip

    listing = admin_client.get(reverse("admin:governance_voterelay_changelist")).content.decode()
    assert vote.voter in listing and "Reverted on chain" in listing
    assert admin_client.get(reverse("admin:governance_voterelay_changelist"), {"status": "counted"}).content.decode(
    ).count(vote.voter) == 0  # fmt: skip

    url = reverse("admin:governance_voterelay_change", args=[relay.pk])
    page = admin_client.get(url).content.decode()
    assert "signed with nonce 0, already used" in page and 'name="status"' not in page
    assert admin_client.post(url, {"status": "counted"}).status_code == 403
    assert VoteRelay.objects.get().status == VoteRelayStatus.REVERTED

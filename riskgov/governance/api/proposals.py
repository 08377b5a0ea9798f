"""Governance JSON API: proposals, public votes and tally export, ballot typed data, and vote submission.

Thin: an input serializer parses, one service or selector does the work, an output serializer renders; a
refusal (bad input, a GovernanceError) is answered by the API error handler as {"error": {code, message, field}}.
Vote submission needs no session — the EIP-712 signature is the authorisation, so relayers may post it; who
submitted it is recorded only from a session that passed the CSRF check, never from the body.
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from eth_utils import is_address, to_checksum_address
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chain.eip712 import Ballot, ballot_typed_data
from riskgov.core.api.schema import error_response
from riskgov.core.permissions import api_open_write, csrf_verified
from riskgov.core.ratelimit import rate_limit_check
from riskgov.governance.domain.state import proposal_state
from riskgov.governance.models import Proposal, ProposalState, Vote
from riskgov.governance.selectors.proposals import (
    latest_recount,
    proposal_rows,
    proposal_tally,
    tally_attach,
    tally_export,
)
from riskgov.governance.services.votes import (
    SignedBallot,
    ballot_domain,
    onchain_next_nonce,
    vote_cast,
    voter_nonce,
)
from riskgov.governance.views.auth import session_address


class ChangeOutput(serializers.Serializer):
    market = serializers.CharField(source="market.symbol")
    field = serializers.CharField()
    old_value = serializers.DecimalField(max_digits=38, decimal_places=18, allow_null=True)
    new_value = serializers.DecimalField(max_digits=38, decimal_places=18, allow_null=True)


class ProposalOutput(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    title = serializers.CharField()
    proposer = serializers.CharField()
    state = serializers.SerializerMethodField()
    description_html = serializers.CharField()
    snapshot_block = serializers.IntegerField()
    chain_id = serializers.IntegerField()
    verifying_contract = serializers.CharField()
    voting_starts_at = serializers.DateTimeField()
    voting_ends_at = serializers.DateTimeField(help_text="End of voting, extended once by a late quorum.")
    voting_extended_from = serializers.DateTimeField(
        allow_null=True, help_text="The end scheduled at creation when a late quorum extended voting, else null."
    )
    vote_extension_seconds = serializers.IntegerField(help_text="Late-quorum extension frozen at creation.")
    quorum_reached_at = serializers.DateTimeField(allow_null=True)
    discussion_url = serializers.CharField()
    queued_at = serializers.DateTimeField(allow_null=True)
    eta = serializers.DateTimeField(allow_null=True, help_text="When the timelock ends; null until queued.")
    executed_at = serializers.DateTimeField(allow_null=True)
    veto_reason = serializers.CharField()
    execution_error = serializers.CharField()
    tally = serializers.SerializerMethodField()
    changes = ChangeOutput(many=True)
    governance_mode = serializers.CharField(help_text="offchain (app tally, executor key) or onchain (Governor).")
    onchain_proposal_id = serializers.SerializerMethodField(
        help_text="The Governor's proposal id (decimal string) that ballots sign, on-chain mode only; else null."
    )

    def get_onchain_proposal_id(self, proposal: Proposal) -> str | None:
        return None if proposal.onchain_proposal_id is None else str(int(proposal.onchain_proposal_id))

    def get_state(self, proposal: Proposal) -> str:
        return proposal_state(proposal, self.context["now"])

    def get_tally(self, proposal: Proposal) -> dict[str, Any]:
        tally = proposal_tally(proposal)
        return {
            "for": str(tally.for_votes),
            "against": str(tally.against_votes),
            "abstain": str(tally.abstain_votes),
            "quorum": str(tally.quorum),
            "quorum_reached": tally.quorum_reached,
            "votes": tally.vote_count,
        }


class VoteOutput(serializers.Serializer):
    voter = serializers.CharField()
    support = serializers.IntegerField()
    weight = serializers.SerializerMethodField()
    nonce = serializers.IntegerField()
    signature = serializers.CharField()
    reason = serializers.SerializerMethodField(help_text="The voter's signed reason; empty when none was signed.")
    reason_signed = serializers.BooleanField()
    submitted_by = serializers.CharField()
    created_at = serializers.DateTimeField()

    def get_weight(self, vote: Vote) -> str:
        return str(int(vote.weight))

    def get_reason(self, vote: Vote) -> str:
        return vote.reason if vote.reason_signed else ""  # an unsigned reason is not shown as the voter's


class ProposalListFilter(serializers.Serializer):
    state = serializers.ChoiceField(choices=ProposalState.choices, required=False)


class ProposalListApi(APIView):
    authentication_classes: list[type] = []

    @extend_schema(parameters=[ProposalListFilter], responses=ProposalOutput(many=True))
    def get(self, request: Request) -> Response:
        query = ProposalListFilter(data=request.query_params)
        query.is_valid(raise_exception=True)
        now = timezone.now()
        rows = proposal_rows(state=query.validated_data.get("state"), now=now)  # tallies attached
        return Response(ProposalOutput([row.proposal for row in rows], many=True, context={"now": now}).data)


class ProposalDetailApi(APIView):
    authentication_classes: list[type] = []

    @extend_schema(responses=ProposalOutput)
    def get(self, request: Request, proposal_id: int) -> Response:
        proposal = get_object_or_404(Proposal.objects.prefetch_related("changes__market"), pk=proposal_id)
        tally_attach([proposal])
        return Response(ProposalOutput(proposal, context={"now": timezone.now()}).data)


class VoteInput(serializers.Serializer):
    voter = serializers.CharField(max_length=42)
    support = serializers.IntegerField(min_value=0, max_value=2)
    nonce = serializers.IntegerField(min_value=0)
    signature = serializers.RegexField(r"^0x[0-9a-fA-F]+$", max_length=1024)
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=2000, default="", trim_whitespace=False,
        help_text="Signed with the ballot (ExtendedBallot) when given: exactly the text the voter signed.",
    )  # fmt: skip
    chain_id = serializers.IntegerField(
        required=False, min_value=1, help_text="The domain's chainId the wallet signed under (checked when given)."
    )
    verifying_contract = serializers.RegexField(
        r"^0x[0-9a-fA-F]{40}$", required=False, default="",
        help_text="The domain's verifyingContract the wallet signed under (checked when given).",
    )  # fmt: skip


class ProposalVotesApi(APIView):
    """GET: every accepted vote (public). POST: submit a signed ballot (anyone may relay it)."""

    authentication_classes: list[type] = []
    permission_classes = [api_open_write("the voter's EIP-712 signature authorises the vote; anyone may relay it")]

    @extend_schema(responses=VoteOutput(many=True))
    def get(self, request: Request, proposal_id: int) -> Response:
        proposal = get_object_or_404(Proposal, pk=proposal_id)
        return Response(VoteOutput(proposal.votes.order_by("pk"), many=True).data)

    @extend_schema(
        request=VoteInput,
        responses={201: VoteOutput, 409: error_response(409), 503: error_response(503)},
    )
    def post(self, request: Request, proposal_id: int) -> Response:
        data = VoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        rate_limit_check(request._request, "vote", subject=data.validated_data["voter"])
        vote = vote_cast(
            ballot=SignedBallot(proposal_id=proposal_id, **data.validated_data),
            submitted_by=_submitter(request),
        )
        return Response(VoteOutput(vote).data, status=status.HTTP_201_CREATED)


def _submitter(request: Request) -> str:
    """The session's address, only when the request passed the CSRF check (a cross-site post is anonymous)."""
    django_request = request._request
    return (session_address(django_request) or "") if csrf_verified(django_request) else ""


class BallotQuery(serializers.Serializer):
    voter = serializers.CharField(max_length=42)
    support = serializers.IntegerField(min_value=0, max_value=2)
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=2000, default="", trim_whitespace=False,
        help_text="With a reason the typed data is an ExtendedBallot that signs it; without, a plain Ballot.",
    )  # fmt: skip

    def validate_voter(self, value: str) -> str:
        if not is_address(value):
            raise serializers.ValidationError(f"{value!r} is not an address", code="invalid_voter")
        return to_checksum_address(value)


class BallotTypedDataApi(APIView):
    """The typed data a wallet signs with eth_signTypedData_v4, with the voter's next nonce filled in:
    an ExtendedBallot when a reason is given (the reason is signed), else a Ballot."""

    authentication_classes: list[type] = []

    @extend_schema(parameters=[BallotQuery], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, proposal_id: int) -> Response:
        proposal = get_object_or_404(Proposal, pk=proposal_id)
        query = BallotQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        voter, support = query.validated_data["voter"], query.validated_data["support"]
        nonce = onchain_next_nonce(proposal, voter) if proposal.is_onchain else voter_nonce(voter)
        ballot = Ballot(
            proposal_id=proposal.ballot_proposal_id, support=support, voter=voter, nonce=nonce,
            reason=query.validated_data["reason"],
        )  # fmt: skip
        typed = ballot_typed_data(ballot, ballot_domain(proposal))
        if proposal.is_onchain:  # a Governor id exceeds 2**53: as a JSON number a browser would round it
            typed["message"]["proposalId"] = str(ballot.proposal_id)
        return Response(typed)


class TallyExportApi(APIView):
    """Everything needed to recount: domain, snapshot, quorum and every vote with its signature."""

    authentication_classes: list[type] = []

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, proposal_id: int) -> Response:
        proposal = get_object_or_404(Proposal, pk=proposal_id)
        export = tally_export(proposal)
        recount = latest_recount(proposal)
        export["latest_recount"] = None if recount is None else {**recount, "at": recount["at"].isoformat()}
        return Response(export)

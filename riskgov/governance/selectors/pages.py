"""What the governance pages show, gathered in a few queries per page.

Vote amounts are token wei; parameter values as in MarginParameters (rates fractions, max leverage a multiple,
OI cap quote notional); registry values 1e18 integers as `RiskParameterRegistry.setParameters` takes them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.utils import timezone

from chain.models.indexed import RegistryUpdate
from chain.registry import (
    REGISTRY_FIELDS,
    registry_targets,
    registry_update_calldata,
    registry_update_signature,
)
from chain.units import to_fixed
from insurance.selectors.compare import RunComparison, run_compare_pair
from insurance.selectors.coverage import run_headline
from riskgov.core.formatting import plain
from riskgov.core.models import AuditAction, AuditRecord, Permission
from riskgov.core.models.versions import ChangeSource
from riskgov.governance.domain.state import ACTIVE, PENDING, QUEUED, SUCCEEDED, executable, quorum_progress
from riskgov.governance.domain.state import proposal_state as derive_state
from riskgov.governance.models import ImpactPreview, Proposal, ProposalExecution, ProposalState, Vote
from riskgov.governance.selectors.proposals import (
    ACTION_TITLES,
    PROPOSAL_SUBJECT,
    ChangeRow,
    Tally,
    latest_recount,
    proposal_diff,
    proposal_tally,
    tally_attach,
)
from riskgov.markets.models import MarginParameters, Market
from riskgov.markets.selectors.markets import markets_with_marks

VOTERS_PER_PAGE = 25
TIMELINE_VOTES = 50  # the timeline lists this many votes, newest last; the voters table has them all


def explorer_tx_url(tx_hash: str | None) -> str:
    """The block explorer link of a transaction (RISKGOV_BLOCK_EXPLORER_TX_URL with {hash}); "" when unset."""
    template = getattr(settings, "RISKGOV_BLOCK_EXPLORER_TX_URL", "")
    if not template or not tx_hash:
        return ""
    return str(template).replace("{hash}", tx_hash)


# ------------------------------------------------------------------ tally


@dataclass(frozen=True)
class TallyView:
    """The tally as the page draws it: bars are shares of the votes cast, quorum progress is capped at 100 %."""

    tally: Tally

    @property
    def cast(self) -> int:
        return self.tally.total

    def _share(self, amount: int) -> float:
        return 100 * amount / self.cast if self.cast else 0.0

    @property
    def for_share(self) -> float:
        return self._share(self.tally.for_votes)

    @property
    def against_share(self) -> float:
        return self._share(self.tally.against_votes)

    @property
    def abstain_share(self) -> float:
        return self._share(self.tally.abstain_votes)

    @property
    def quorum_votes_counted(self) -> int:
        """For + Abstain: what counts toward quorum."""
        return self.tally.for_votes + self.tally.abstain_votes

    @property
    def quorum_percent(self) -> float:
        """For + Abstain as a percentage of the quorum, at most 100."""
        t = self.tally
        return 100 * quorum_progress(for_votes=t.for_votes, abstain_votes=t.abstain_votes, quorum=t.quorum)

    @property
    def quorum_shown(self) -> int:
        """For + Abstain capped at the quorum, for the "X / Y" figure and its bar."""
        return min(self.quorum_votes_counted, self.tally.quorum)

    @property
    def quorum_missing(self) -> int:
        return max(0, self.tally.quorum - self.quorum_votes_counted)

    @property
    def for_lead(self) -> int:
        """For − Against (negative when Against leads)."""
        return self.tally.for_votes - self.tally.against_votes


# ------------------------------------------------------------------ the payload that executes


@dataclass(frozen=True)
class PayloadChange:
    field: str
    old_value: Decimal | None
    new_value: Decimal | None


@dataclass(frozen=True)
class MarketPayload:
    """One market's execution: the parameter changes, the registry call's arguments and its calldata."""

    market: str
    registry_symbol: str
    changes: list[PayloadChange]
    arguments: list[tuple[str, int]]  # (setParameters argument, 1e18 integer) after the market id
    calldata: str
    sent: bool  # the calldata of the recorded execution, not an estimate
    oi_cap_source: str
    tx_hash: str = ""
    tx_url: str = ""
    problem: str = ""  # why no calldata can be built yet


@dataclass(frozen=True)
class ExecutionPayload:
    registry: str
    chain_id: int
    function: str
    markets: list[MarketPayload]


def _registry_symbol(market: Market) -> str:
    # the same symbol execution uses (services.execution.chain_symbol)
    return market.symbol if "-" in market.symbol else f"{market.symbol}-{market.quote_asset}"


def _market_payload(
    market: Market,
    changes: list[PayloadChange],
    current: MarginParameters | None,
    mark: Decimal | None,
    registry_row: RegistryUpdate | None,
    execution: ProposalExecution | None,
) -> MarketPayload:
    symbol = _registry_symbol(market)
    base: dict[str, Any] = {"market": market.symbol, "registry_symbol": symbol, "changes": changes}
    if execution is not None and execution.registry_values:
        targets = execution.registry_values
        return MarketPayload(
            **base,
            arguments=[(name, int(targets[name])) for name in REGISTRY_FIELDS],
            calldata=registry_update_calldata(symbol, targets),
            sent=execution.pushed_at is not None,
            oi_cap_source="as recorded for this execution",
            tx_hash=execution.tx_hash,
            tx_url=explorer_tx_url(execution.tx_hash),
        )
    values: dict[str, Decimal | None] = {**(current.values() if current else {})}
    values.update({c.field: c.new_value for c in changes})
    oi_cap_changed = any(c.field == "oi_cap" for c in changes)
    if registry_row is not None and not oi_cap_changed:
        oi_cap, source = to_fixed(registry_row.oi_cap), f"unchanged: the registry's v{registry_row.version} (indexed)"
    elif values.get("oi_cap") is not None and mark:
        oi_cap = to_fixed(Decimal(values["oi_cap"]) / Decimal(mark))  # type: ignore[arg-type]
        source = f"OI cap {values['oi_cap']:,} quote ÷ mark price {mark:,} (re-read at execution)"
    else:
        return MarketPayload(
            **base, arguments=[], calldata="", sent=False, oi_cap_source="",
            problem="the registry needs an OI cap in base units, which needs an OI cap and a mark price",
        )  # fmt: skip
    targets = registry_targets(values, oi_cap=oi_cap)
    return MarketPayload(
        **base,
        arguments=[(name, int(targets[name])) for name in REGISTRY_FIELDS],
        calldata=registry_update_calldata(symbol, targets),
        sent=False,
        oi_cap_source=source,
    )


def proposal_payload(proposal: Proposal) -> ExecutionPayload:
    """What execution sends per market: setParameters(marketId, …) on the proposal's registry, ABI-encoded.

    After execution (or once its targets are recorded) this is the recorded call; before, the call as it would be
    built now: parameters in force with the proposal's changes, and the OI cap kept from the indexed registry
    unless the proposal changes it (then quote notional ÷ mark price, as execution converts it).
    """
    changes = list(proposal.changes.select_related("market"))
    market_ids = {c.market_id for c in changes}
    by_market: dict[int, list[PayloadChange]] = {}
    for c in changes:
        by_market.setdefault(c.market_id, []).append(PayloadChange(c.field, c.old_value, c.new_value))
    markets = {m.pk: m for m in markets_with_marks().filter(pk__in=market_ids)}
    markets.update({c.market_id: c.market for c in changes if c.market_id not in markets})  # inactive: no mark
    currents: dict[int, MarginParameters] = {}
    for version in MarginParameters.objects.filter(market_id__in=market_ids).order_by("version"):
        currents[version.market_id] = version
    registry_rows: dict[int, RegistryUpdate] = {}
    for row in RegistryUpdate.objects.filter(market_id__in=market_ids).order_by("version"):
        registry_rows[row.market_id] = row
    executions = {e.market_id: e for e in proposal.executions.all()}
    return ExecutionPayload(
        registry=proposal.verifying_contract,
        chain_id=int(proposal.chain_id),
        function=registry_update_signature(),
        markets=[
            _market_payload(
                markets[market_id],
                by_market[market_id],
                currents.get(market_id),
                getattr(markets[market_id], "mark_price", None),
                registry_rows.get(market_id),
                executions.get(market_id),
            )
            for market_id in sorted(by_market, key=lambda pk: markets[pk].symbol)
        ],
    )


# ------------------------------------------------------------------ timeline


@dataclass(frozen=True)
class PageEvent:
    at: datetime
    title: str
    detail: str = ""
    kind: str = "proposal"
    transactions: list[tuple[str, str, str]] = field(default_factory=list)  # (market, tx hash, explorer url)


_SOURCE_TITLES = {
    ChangeSource.POLICY: "Automatic change (margin policy)",
    ChangeSource.ADMIN: "Admin change",
    ChangeSource.PROPOSAL: "Change by another proposal",
    ChangeSource.GENESIS: "Genesis parameters",
}


def _record_events(proposal: Proposal) -> Iterator[PageEvent]:
    records = AuditRecord.objects.filter(subject_type=PROPOSAL_SUBJECT, subject_id=str(proposal.pk))
    for record in records.order_by("created_at", "pk"):
        data = record.data or {}
        if record.action == AuditAction.PROPOSAL_STATE_CHANGED:
            yield PageEvent(record.created_at, f"State: {ProposalState(data['to']).label}", kind="state")
        elif record.action == AuditAction.PROPOSAL_VOTING_EXTENDED:
            yield PageEvent(
                record.created_at,
                "Voting extended (late quorum)",
                f"end moved from {data.get('from', '')[:19].replace('T', ' ')} to "
                f"{data.get('to', '')[:19].replace('T', ' ')} UTC",
                kind="window",
            )
        elif record.action == AuditAction.PROPOSAL_EXECUTED:
            txs = [(m, tx, explorer_tx_url(tx)) for m, tx in sorted((data.get("transactions") or {}).items())]
            yield PageEvent(record.created_at, "Executed", kind="execution", transactions=txs)
        elif record.action == AuditAction.PROPOSAL_QUEUED:
            eta = str(data.get("eta", ""))[:19].replace("T", " ")
            yield PageEvent(record.created_at, "Queued (timelock started)", f"executable from {eta} UTC", kind="queue")
        elif record.action in ACTION_TITLES:
            detail = str(data.get("reason") or data.get("error") or "")
            kind = "veto" if record.action == AuditAction.PROPOSAL_VETOED else "proposal"
            yield PageEvent(record.created_at, ACTION_TITLES[record.action], detail, kind=kind)


def proposal_page_timeline(proposal: Proposal, votes: list[Vote]) -> list[PageEvent]:
    """Everything that happened to the proposal, oldest first: lifecycle records, the voting window (with a
    late-quorum extension), votes, quorum, queue, execution with its transactions, and every parameter version of
    its markets since creation that it did not write (admin, automatic policy changes, other proposals)."""
    events = list(_record_events(proposal))
    window_end = proposal.voting_extended_from or proposal.voting_ends_at
    events.append(PageEvent(proposal.voting_starts_at, "Voting opens", kind="window"))
    events.append(PageEvent(window_end, "Voting closes as scheduled", kind="window"))
    if proposal.voting_extended_from is not None:
        events.append(PageEvent(proposal.voting_ends_at, "Voting closes (extended by a late quorum)", kind="window"))
    by_time = sorted(votes, key=lambda v: (v.created_at, v.pk))
    hidden = max(0, len(by_time) - TIMELINE_VOTES)
    for vote in by_time[hidden:]:
        title = f"Vote {vote.get_support_display()} — {vote.weight / 10**18:,.2f} votes"
        events.append(PageEvent(vote.created_at, title, vote.voter, kind=f"vote vote-{vote.support}"))
    if hidden:
        last_hidden = by_time[hidden - 1]
        events.append(PageEvent(last_hidden.created_at, f"{hidden} earlier votes", "listed under Voters", kind="vote"))
    if proposal.quorum_reached_at is not None:  # after the vote that reached it (same time; the sort is stable)
        events.append(PageEvent(proposal.quorum_reached_at, "Quorum reached", kind="quorum"))
    markets = proposal.changes.values_list("market_id", flat=True)
    versions = MarginParameters.objects.filter(market_id__in=markets, created_at__gte=proposal.created_at)
    for version in versions.select_related("market").order_by("created_at"):
        if version.proposal_ref == str(proposal.pk):
            continue  # this proposal's own execution is the "Executed" entry
        who = _SOURCE_TITLES.get(ChangeSource(version.source), str(version.get_source_display()))
        events.append(
            PageEvent(version.created_at, f"{who}: {version.market.symbol} parameters v{version.version}",
                      version.reason, kind="parameters")
        )  # fmt: skip
    return sorted(events, key=lambda e: e.at)


# ------------------------------------------------------------------ voters


VOTER_SORTS = {
    "-weight": ("-weight", "created_at", "pk"),
    "weight": ("weight", "created_at", "pk"),
    "-created_at": ("-created_at", "-pk"),
    "created_at": ("created_at", "pk"),
    "support": ("support", "-weight", "pk"),
    "voter": ("voter", "pk"),
}
VOTER_SORT_LABELS = {
    "-weight": "Weight, largest first",
    "weight": "Weight, smallest first",
    "-created_at": "Newest first",
    "created_at": "Oldest first",
    "support": "Vote (Against, For, Abstain)",
    "voter": "Address",
}


def proposal_voters(proposal: Proposal, *, sort: str = "-weight", search: str = "") -> QuerySet[Vote]:
    """The proposal's votes, searched by address or reason (case-insensitive) and sorted by one of VOTER_SORTS."""
    votes = proposal.votes.select_related("relay")  # on chain, each ballot's relay status is shown
    search = search.strip()
    if search:
        votes = votes.filter(
            Q(voter__icontains=search)
            | Q(reason__icontains=search, reason_signed=True)
            | Q(submitted_by__icontains=search)
        )
    return votes.order_by(*VOTER_SORTS.get(sort, VOTER_SORTS["-weight"]))


def proposal_voters_page(proposal: Proposal, *, sort: str, search: str, page: int) -> Page[Vote]:
    """One page of VOTERS_PER_PAGE voters (a page number past the end gives the last page)."""
    return Paginator(proposal_voters(proposal, sort=sort, search=search), VOTERS_PER_PAGE).get_page(page)


VOTER_CSV_HEADER = ["voter", "support", "support_label", "weight_wei", "weight_votes", "nonce", "signature",
                    "reason", "submitted_by", "created_at"]  # fmt: skip


def proposal_voters_csv(votes: Iterable[Vote]) -> Iterator[str]:
    """CSV lines of `votes`, header first; weights as exact wei and as votes (wei / 1e18, a plain decimal)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(row: Sequence[object]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(row)
        return buffer.getvalue()

    yield line(VOTER_CSV_HEADER)
    for v in votes:
        weight = int(v.weight)
        yield line([
            v.voter, v.support, v.get_support_display(), weight, plain(Decimal(weight).scaleb(-18)), v.nonce,
            v.signature, v.reason if v.reason_signed else "", v.submitted_by, v.created_at.isoformat(),
        ])  # fmt: skip


# ------------------------------------------------------------------ recount badge


@dataclass(frozen=True)
class RecountBadge:
    """The latest recount, with the votes it counted, and whether votes arrived since (then it is outdated)."""

    matches: bool
    votes_counted: int
    votes_now: int
    at: datetime
    snapshot_block: int
    source: str  # "chain" or "database" when the recount says which; "" for older records
    data: dict[str, Any]

    @property
    def votes_added(self) -> int:
        return max(0, self.votes_now - self.votes_counted)

    @property
    def outdated(self) -> bool:
        return self.votes_now != self.votes_counted


def recount_badge(proposal: Proposal) -> RecountBadge | None:
    """The latest recount of `proposal` (tally attached) against its current vote count."""
    recount = latest_recount(proposal)
    if recount is None:
        return None
    return RecountBadge(
        matches=bool(recount.get("matches")),
        votes_counted=int(recount.get("votes", 0)),
        votes_now=int(proposal.vote_count),
        at=recount["at"],
        snapshot_block=int(recount.get("snapshot_block", proposal.snapshot_block)),
        source=str(recount.get("source", "")),
        data=recount,
    )


# ------------------------------------------------------------------ coverage previews


@dataclass(frozen=True)
class CoverageSide:
    label: str
    run: Any
    headline: Any


@dataclass(frozen=True)
class CoveragePreview:
    """Where a paired coverage preview stands: queued (runs not frozen yet), running, done, or refused."""

    sides: list[CoverageSide]
    pending: bool  # the page keeps polling while this holds
    state: str  # "queued", "running", "done", "refused"
    comparison: RunComparison | None  # proposed − current, when both runs succeeded
    error: str = ""

    @property
    def chunks_done(self) -> int:
        return sum(s.run.chunks_done for s in self.sides if s.run is not None)

    @property
    def chunk_count(self) -> int:
        return sum(s.run.chunk_count for s in self.sides if s.run is not None)


def _coverage_preview(current: Any, proposed: Any, error: str) -> CoveragePreview:
    sides = [
        CoverageSide(label, run, run_headline(run) if run is not None and run.metrics else None)
        for label, run in (("Current parameters", current), ("Proposed parameters", proposed))
    ]
    if error:
        return CoveragePreview(sides, pending=False, state="refused", comparison=None, error=error)
    if current is None or proposed is None:
        return CoveragePreview(sides, pending=True, state="queued", comparison=None)
    if current.is_active or proposed.is_active:
        return CoveragePreview(sides, pending=True, state="running", comparison=None)
    return CoveragePreview(sides, pending=False, state="done", comparison=run_compare_pair(current, proposed))


def proposal_coverage_preview_state(proposal: Proposal) -> CoveragePreview:
    """The coverage preview of a proposal with its progress, and the paired deltas once both runs succeeded."""
    return _coverage_preview(proposal.coverage_current, proposal.coverage_proposed, proposal.coverage_error)


@dataclass(frozen=True)
class ImpactPreviewState:
    preview: ImpactPreview
    impact: dict[str, Any]
    coverage: CoveragePreview

    @property
    def pending(self) -> bool:
        return self.preview.impact_computed_at is None or self.coverage.pending


def impact_preview_state(preview: ImpactPreview) -> ImpactPreviewState:
    """A create-form preview: position figures once a worker computed them, and its coverage pair's progress."""
    coverage = _coverage_preview(preview.coverage_current, preview.coverage_proposed, preview.coverage_error)
    return ImpactPreviewState(preview=preview, impact=preview.impact or {}, coverage=coverage)


# ------------------------------------------------------------------ the proposal page


@dataclass(frozen=True)
class ProposalPage:
    proposal: Proposal
    state: str
    state_label: str
    diff: list[ChangeRow]
    tally: Tally
    tally_view: TallyView
    payload: ExecutionPayload
    timeline: list[PageEvent]
    impact: dict[str, Any]
    coverage_preview: CoveragePreview
    recount: RecountBadge | None
    executions: list[ProposalExecution]
    viewer: str | None
    viewer_vote: Vote | None
    can_vote: bool
    can_cancel: bool
    can_queue: bool
    can_execute: bool
    can_veto: bool
    now: datetime

    @property
    def countdown_target(self) -> tuple[str, datetime] | None:
        """What the countdown counts to: the start while pending, the end while active."""
        if self.state == PENDING:
            return "starts", self.proposal.voting_starts_at
        if self.state == ACTIVE:
            return "ends", self.proposal.voting_ends_at
        return None


def proposal_page(
    proposal: Proposal,
    *,
    viewer: str | None,
    granted: frozenset[Permission] = frozenset(),
    now: datetime | None = None,
) -> ProposalPage:
    now = now or timezone.now()
    tally_attach([proposal])
    state = derive_state(proposal, now)
    votes = list(proposal.votes.order_by("-weight", "created_at"))
    viewer_vote = next((v for v in votes if viewer and v.voter.lower() == viewer.lower()), None)
    tally = proposal_tally(proposal)
    offchain = not proposal.is_onchain
    return ProposalPage(
        proposal=proposal,
        state=state,
        state_label=str(ProposalState(state).label),
        diff=proposal_diff(proposal),
        tally=tally,
        tally_view=TallyView(tally),
        payload=proposal_payload(proposal),
        timeline=proposal_page_timeline(proposal, votes),
        impact=proposal.impact or {},
        coverage_preview=proposal_coverage_preview_state(proposal),
        recount=recount_badge(proposal),
        executions=list(proposal.executions.select_related("market", "parameters")),
        viewer=viewer,
        viewer_vote=viewer_vote,
        can_vote=state == ACTIVE and viewer_vote is None,
        # on chain, cancel, queue, execute and veto are the wallets' Governor calls (selectors.onchain_page)
        can_cancel=offchain
        and (
            (state == PENDING and bool(viewer and viewer.lower() == proposal.proposer.lower()))
            or (state in (PENDING, ACTIVE, SUCCEEDED) and Permission.CANCEL_PROPOSAL in granted)
        ),
        can_queue=offchain and state == SUCCEEDED and Permission.QUEUE_PROPOSAL in granted,
        can_execute=offchain
        and state == QUEUED
        and executable(proposal, now)
        and Permission.EXECUTE_PROPOSAL in granted,
        can_veto=offchain and state == QUEUED and Permission.VETO_PROPOSAL in granted,
        now=now,
    )


def proposal_tally_view(proposal: Proposal, *, now: datetime | None = None) -> tuple[str, TallyView]:
    """The derived state and the tally of `proposal`, for the polled tally fragment (two queries)."""
    tally_attach([proposal])
    return derive_state(proposal, now or timezone.now()), TallyView(proposal_tally(proposal))

"""Proposal lifecycle: create (threshold + guardrails + snapshot), cancel, queue, veto, persist states.

Voting power and supply are token wei; parameter values are fractions (0.05 = 5 %), max_leverage a
multiple, oi_cap quote notional — as in MarginParameters.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

import markdown
import nh3
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from eth_utils import is_address, to_checksum_address

from insurance.models import RunPurpose
from insurance.services.coverage_pairs import coverage_pair_attach
from riskgov.core import dispatch
from riskgov.core.models import AuditAction
from riskgov.core.models.versions import ChangeSource
from riskgov.core.services.audit import audit_record, decimal_text
from riskgov.governance.domain.state import FINAL_STATES, SUCCEEDED, proposal_state
from riskgov.governance.errors import ActionNotAllowed, ProposalRejected
from riskgov.governance.models import GovernanceMode, GovernanceSettings, ParameterChange, Proposal, ProposalState
from riskgov.governance.selectors import chain_reads
from riskgov.governance.selectors.impact import proposal_impact
from riskgov.governance.selectors.onchain import onchain_mode
from riskgov.governance.selectors.proposals import Recount, proposal_recount, tally_attach
from riskgov.governance.services.onchain import governor_required, onchain_payload_build
from riskgov.governance.services.registry_targets import chain_symbol, registry_values_for
from riskgov.markets.models import PARAMETER_FIELDS, MarginParameters, Market
from riskgov.markets.services.guardrails import GuardrailError, guardrails_check

logger = logging.getLogger(__name__)

COVERAGE_PREVIEW_PATHS = 2000
COVERAGE_PREVIEW_TASK = "riskgov.governance_coverage_preview"
NOTIFICATIONS_EMIT_TASK = "riskgov.governance_notifications_emit"
COVERAGE_PREVIEW_SEED_BASE = 7_000_000
TITLE_MAX_CHARS = 200  # Proposal.title max_length
DISCUSSION_URL_VALIDATOR = URLValidator(schemes=["http", "https"], message="Enter an http or https URL.")
ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "hr",
    "i",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}


@dataclass(frozen=True)
class ChangeInput:
    """One requested change: market symbol, field name and new value (None clears an optional field)."""

    market: str
    field: str
    new_value: Decimal | None


def description_render(text: str) -> str:
    """Markdown to HTML with only harmless tags and attributes kept (links get rel=noopener nofollow)."""
    html = markdown.markdown(text, extensions=["extra", "sane_lists"], output_format="html")
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes={"a": {"href", "title"}, "abbr": {"title"}})


def governance_settings_get() -> GovernanceSettings:
    settings_row, _ = GovernanceSettings.objects.get_or_create(pk=1)
    return settings_row


def _clean_changes(changes: Sequence[ChangeInput]) -> tuple[dict[str, dict[str, Decimal | None]], dict[str, Market]]:
    errors: list[str] = []
    grouped: dict[str, dict[str, Decimal | None]] = {}
    markets = {m.symbol: m for m in Market.objects.filter(symbol__in={c.market for c in changes}, is_active=True)}
    if not changes:
        errors.append("Add at least one parameter change.")
    for change in changes:
        where = f"{change.market}.{change.field}"
        if change.market not in markets:
            errors.append(f"{change.market}: no active market with this symbol.")
        elif change.field not in PARAMETER_FIELDS:
            errors.append(f"{where}: not a margin parameter (one of {', '.join(PARAMETER_FIELDS)}).")
        elif change.field in grouped.get(change.market, {}):
            errors.append(f"{where}: changed twice; give each field once.")
        else:
            try:
                value = None if change.new_value is None else Decimal(change.new_value)
            except (InvalidOperation, TypeError, ValueError):
                errors.append(f"{where}: {change.new_value!r} is not a number.")
                continue
            if value is not None and not value.is_finite():
                errors.append(f"{where}: must be a finite number.")
                continue
            grouped.setdefault(change.market, {})[change.field] = value
    if errors:
        raise ProposalRejected({"changes": errors})
    return grouped, markets


def _check_guardrails(
    grouped: dict[str, dict[str, Decimal | None]], markets: dict[str, Market], now: datetime
) -> dict[str, MarginParameters]:
    errors: list[str] = []
    currents: dict[str, MarginParameters] = {}
    for symbol, fields in grouped.items():
        current = MarginParameters.objects.filter(market=markets[symbol]).order_by("-version").first()
        if current is None:
            errors.append(f"{symbol}: has no parameters yet [rule: genesis_required]")
            continue
        currents[symbol] = current
        try:
            guardrails_check(
                market=markets[symbol],
                current=current,
                proposed={**current.values(), **fields},
                source=ChangeSource.PROPOSAL,
                now=now,
            )
        except GuardrailError as exc:
            errors += [f"{symbol} {violation}" for violation in exc.violations]
    if errors:
        raise ProposalRejected({"changes": errors}, code="guardrail_violation")
    return currents


def proposal_changes_check(
    changes: Sequence[ChangeInput], *, now: datetime
) -> tuple[dict[str, dict[str, Decimal | None]], dict[str, MarginParameters]]:
    """The changes grouped by market ({symbol: {field: value}}) and each market's parameters in force, after the
    checks a proposal gets at creation (known active markets, parameter fields, numbers, guardrails).

    Raises ProposalRejected naming each bad change (and the guardrail rule it breaks).
    """
    grouped, markets = _clean_changes(changes)
    return grouped, _check_guardrails(grouped, markets, now)


def _check_no_open_duplicate(*, proposer: str, grouped: dict[str, dict[str, Decimal | None]], now: datetime) -> None:
    """One open proposal per proposer for one set of changes: a second identical one is refused (409), naming it."""
    wanted = {(symbol, field, value) for symbol, fields in grouped.items() for field, value in fields.items()}
    open_ones = Proposal.objects.filter(proposer__iexact=proposer).exclude(state__in=FINAL_STATES)
    for proposal in open_ones.prefetch_related("changes__market").order_by("pk"):
        if proposal_state(proposal, now) in FINAL_STATES:
            continue
        if {(c.market.symbol, c.field, c.new_value) for c in proposal.changes.all()} == wanted:
            error = ProposalRejected(
                {
                    "changes": [
                        f"Proposal #{proposal.pk} “{proposal.title}” with the same changes is still open; "
                        "wait for it to end or cancel it first."
                    ]
                },
                code="duplicate_proposal",
            )
            error.status = 409
            raise error


def proposal_create(
    *,
    proposer: str,
    title: str,
    description: str,
    changes: Sequence[ChangeInput],
    discussion_url: str = "",
    now: datetime | None = None,
) -> Proposal:
    """Create a proposal after checking the proposer's voting power against the threshold and the guardrails.

    The snapshot is the chain's latest block; settings are copied so later edits never touch a running
    vote. Raises ProposalRejected with field errors; writes nothing then.
    """
    now = now or timezone.now()
    field_errors: dict[str, list[str]] = {}
    if not title.strip():
        field_errors["title"] = ["A title is required."]
    elif len(title.strip()) > TITLE_MAX_CHARS:
        field_errors["title"] = [f"At most {TITLE_MAX_CHARS} characters."]
    if not description.strip():
        field_errors["description"] = ["Describe the change and why it is needed."]
    discussion_url = discussion_url.strip()
    if discussion_url:
        try:
            DISCUSSION_URL_VALIDATOR(discussion_url)
        except ValidationError:
            field_errors["discussion_url"] = ["Give a full http:// or https:// link to the discussion."]
    if not is_address(proposer):
        field_errors["proposer"] = ["Sign in with a wallet to propose."]
    if field_errors:
        raise ProposalRejected(field_errors)
    grouped, markets = _clean_changes(changes)
    currents = _check_guardrails(grouped, markets, now)
    _check_no_open_duplicate(proposer=to_checksum_address(proposer), grouped=grouped, now=now)

    onchain = onchain_mode()
    chain = governor_required() if onchain else chain_reads.governance_chain()
    config = governance_settings_get()
    snapshot = chain_reads.latest_block()
    proposer = to_checksum_address(proposer)
    power = chain_reads.voting_power_at(proposer, snapshot)
    if power < config.proposal_threshold:
        raise ProposalRejected(
            {
                "proposer": [
                    f"Voting power {Decimal(power) / 10**18:,.2f} is below the proposal threshold of "
                    f"{config.proposal_threshold / 10**18:,.2f} votes; delegate to yourself or gather votes."
                ]
            },
            code="below_threshold",
        )
    supply = chain_reads.total_supply_at(snapshot)
    starts = now + timedelta(seconds=config.voting_delay_seconds)
    market_targets = _registry_market_targets(chain, grouped, markets, currents) if onchain else []
    with transaction.atomic():
        proposal = Proposal.objects.create(
            title=title.strip(),
            description=description,
            description_html=description_render(description),
            discussion_url=discussion_url,
            proposer=proposer,
            created_at=now,
            chain_id=chain.chain_id,
            verifying_contract=chain.governor if onchain else chain.registry,
            governance_mode=GovernanceMode.ONCHAIN if onchain else GovernanceMode.OFFCHAIN,
            onchain_state=ProposalState.PENDING if onchain else "",
            snapshot_block=snapshot,
            total_supply=Decimal(supply),
            proposer_power=Decimal(power),
            proposal_threshold=config.proposal_threshold,
            quorum_fraction=config.quorum_fraction,
            voting_delay_seconds=config.voting_delay_seconds,
            voting_period_seconds=config.voting_period_seconds,
            timelock_seconds=config.timelock_seconds,
            grace_period_seconds=config.grace_period_seconds,
            guardian_address=config.guardian_address,
            voting_starts_at=starts,
            voting_ends_at=starts + timedelta(seconds=config.voting_period_seconds),
            vote_extension_seconds=settings.RISKGOV_GOVERNANCE_VOTE_EXTENSION_SECONDS,
            state=ProposalState.PENDING,
            state_changed_at=now,
        )
        ParameterChange.objects.bulk_create(
            ParameterChange(
                proposal=proposal,
                market=markets[symbol],
                field=field,
                old_value=getattr(currents[symbol], field),
                new_value=value,
            )
            for symbol, fields in grouped.items()
            for field, value in fields.items()
        )
        if onchain:  # the proposer's wallet sends propose with exactly these registry updates
            onchain_payload_build(proposal=proposal, registry=chain.registry, market_targets=market_targets)
        proposal.impact = proposal_impact(grouped)
        proposal.impact_computed_at = now
        proposal.save(update_fields=["impact", "impact_computed_at"])
        audit_record(
            action=AuditAction.PROPOSAL_CREATED,
            subject=proposal,
            actor=proposer,
            data={"title": proposal.title, "snapshot_block": snapshot, "changes": _changes_text(grouped)},
        )
        # the paired coverage runs are frozen and simulated by the workers, never inside this request
        dispatch.send_on_commit(COVERAGE_PREVIEW_TASK, proposal_id=proposal.pk)
    return proposal


def _registry_market_targets(
    chain: chain_reads.GovernanceChain,
    grouped: dict[str, dict[str, Decimal | None]],
    markets: dict[str, Market],
    currents: dict[str, MarginParameters],
) -> list[tuple[Market, str, dict[str, str]]]:
    """Per market (in symbol order): its registry symbol and the setParameters values of the parameters the
    guardrails just passed (the calldata of an on-chain proposal)."""
    client = chain_reads.chain_client()
    registry = client.contract("RiskParameterRegistry", chain.registry)
    return [
        (
            markets[symbol],
            chain_symbol(markets[symbol]),
            registry_values_for(
                client, registry, markets[symbol], {**currents[symbol].values(), **fields}, "oi_cap" in fields
            ),
        )
        for symbol, fields in sorted(grouped.items())
    ]


def _changes_text(grouped: dict[str, dict[str, Decimal | None]]) -> dict[str, dict[str, str | None]]:
    return {s: {f: decimal_text(v) for f, v in fs.items()} for s, fs in grouped.items()}


def proposal_overrides(proposal: Proposal) -> dict[str, dict[str, Decimal | None]]:
    """The proposal's changes as {market symbol: {field: new value}}."""
    grouped: dict[str, dict[str, Decimal | None]] = {}
    for change in proposal.changes.select_related("market"):
        grouped.setdefault(change.market.symbol, {})[change.field] = change.new_value
    return grouped


def proposal_coverage_preview(*, proposal_id: int, now: datetime | None = None) -> Proposal:
    """Start the paired coverage runs of a proposal, current vs proposed parameters; safe to run twice.

    Both runs freeze the same book at the same instant and share seed, paths, steps and horizon (common random
    numbers), so their difference is estimated path by path. They are proposal-impact runs: they never feed the
    headline, alerts or reports. A refusal is recorded on the proposal, never raised.
    """
    now = now or timezone.now()
    with transaction.atomic():
        proposal = Proposal.objects.select_for_update().get(pk=proposal_id)
        coverage_pair_attach(
            proposal,
            label=f"Proposal #{proposal.pk}",
            requested_by=f"proposal:{proposal.pk}",
            overrides=proposal_overrides(proposal),
            purpose=RunPurpose.PROPOSAL_IMPACT,
            seed=COVERAGE_PREVIEW_SEED_BASE + int(proposal.pk),
            at=now,
            paths=COVERAGE_PREVIEW_PATHS,
        )
    return proposal


def proposal_impact_refresh(*, proposal_id: int, now: datetime | None = None) -> Proposal:
    """Recompute the impact preview against today's positions and prices."""
    proposal = Proposal.objects.get(pk=proposal_id)
    proposal.impact = proposal_impact(proposal_overrides(proposal))
    proposal.impact_computed_at = now or timezone.now()
    proposal.save(update_fields=["impact", "impact_computed_at"])
    return proposal


def _transition(proposal: Proposal, *, now: datetime, actor: str, action: AuditAction, data: dict[str, object]) -> None:
    new_state = proposal_state(proposal, now)
    previous = proposal.state
    proposal.state = new_state
    proposal.state_changed_at = now
    proposal.save()
    audit_record(action=action, subject=proposal, actor=actor, data={"from": previous, "to": new_state, **data})
    dispatch.send_on_commit(NOTIFICATIONS_EMIT_TASK, proposal_id=proposal.pk)


def _offchain_only(proposal: Proposal, action: str, how: str) -> None:
    """Refuse an off-chain action on a proposal that settles on the Governor, saying how it is done there."""
    if proposal.is_onchain:
        raise ActionNotAllowed(f"onchain_{action}", f"Proposal #{proposal.pk} settles on chain: {how}")


GUARDIAN_CANCELABLE = frozenset({ProposalState.PENDING, ProposalState.ACTIVE, ProposalState.SUCCEEDED})


def proposal_cancel(
    *, proposal_id: int, actor: str, now: datetime | None = None, as_guardian: bool = False
) -> Proposal:
    """The proposer cancels before voting starts; a guardian (``as_guardian``: the caller checked the cancel
    permission) cancels any proposal not yet queued — a queued one is vetoed, with a reason."""
    now = now or timezone.now()
    with transaction.atomic():
        proposal = Proposal.objects.select_for_update().get(pk=proposal_id)
        _offchain_only(
            proposal, "cancel", "the proposer's wallet sends the Governor's cancel while it is pending, the proposal "
            "guardian's at any stage before execution.",
        )  # fmt: skip
        tally_attach([proposal])
        state = proposal_state(proposal, now)
        if as_guardian:
            if state not in GUARDIAN_CANCELABLE:
                raise ActionNotAllowed(
                    "not_cancelable", f"A {state} proposal cannot be canceled (a queued one can be vetoed)."
                )
        elif actor.lower() != proposal.proposer.lower():
            raise ActionNotAllowed("not_proposer", "Only the proposer can cancel a proposal.", status=403)
        elif state != ProposalState.PENDING:
            raise ActionNotAllowed("not_pending", "A proposal can only be canceled before voting starts.")
        proposal.canceled_at = now
        _transition(
            proposal, now=now, actor=actor, action=AuditAction.PROPOSAL_CANCELED, data={"as_guardian": as_guardian}
        )
    return proposal


def proposal_queue(*, proposal_id: int, actor: str, now: datetime | None = None) -> Proposal:
    """Start the timelock of a succeeded proposal (the periodic task does; off-chain, a guardian may too)."""
    now = now or timezone.now()
    with transaction.atomic():
        proposal = Proposal.objects.select_for_update().get(pk=proposal_id)
        _offchain_only(proposal, "queue", "any wallet sends the Governor's queue once voting has succeeded.")
        tally_attach([proposal])
        if proposal_state(proposal, now) != SUCCEEDED:
            raise ActionNotAllowed(
                "not_succeeded", f"Only a succeeded proposal can be queued (it is {proposal.state})."
            )
        proposal.queued_at = now
        _transition(
            proposal, now=now, actor=actor, action=AuditAction.PROPOSAL_QUEUED, data={"eta": proposal.eta.isoformat()}
        )
    return proposal


def proposal_veto(
    *, proposal_id: int, guardian: str, reason: str, now: datetime | None = None, as_guardian: bool = False
) -> Proposal:
    """The guardian vetoes during the timelock, with a reason: the address frozen on the proposal, or anyone the
    caller found holding the veto permission (``as_guardian``)."""
    now = now or timezone.now()
    if not reason.strip():
        raise ActionNotAllowed("reason_required", "Give a reason for the veto.", field="reason", status=400)
    with transaction.atomic():
        proposal = Proposal.objects.select_for_update().get(pk=proposal_id)
        _offchain_only(
            proposal, "veto", "the proposal guardian's wallet cancels it on the Governor during the timelock."
        )
        tally_attach([proposal])
        is_frozen_guardian = bool(proposal.guardian_address) and guardian.lower() == proposal.guardian_address.lower()
        if not (as_guardian or is_frozen_guardian):
            raise ActionNotAllowed("not_guardian", "Only the guardian can veto this proposal.", status=403)
        if proposal_state(proposal, now) != ProposalState.QUEUED:
            raise ActionNotAllowed("not_queued", "Only a queued proposal (in its timelock) can be vetoed.")
        proposal.vetoed_at, proposal.vetoed_by, proposal.veto_reason = now, guardian, reason.strip()
        _transition(
            proposal, now=now, actor=guardian, action=AuditAction.PROPOSAL_VETOED, data={"reason": reason.strip()}
        )
    return proposal


def proposal_states_sync(*, now: datetime | None = None) -> dict[str, list[int]]:
    """Persist derived states of open proposals and queue the succeeded ones; returns ids by what happened."""
    now = now or timezone.now()
    changed: list[int] = []
    queued: list[int] = []
    # on-chain proposals take their state from the Governor (services.onchain.onchain_proposals_sync)
    open_ids = list(
        Proposal.objects.exclude(state__in=FINAL_STATES)
        .filter(governance_mode=GovernanceMode.OFFCHAIN)
        .values_list("pk", flat=True)
    )
    for proposal_id in open_ids:
        with transaction.atomic():
            proposal = Proposal.objects.select_for_update().get(pk=proposal_id)
            tally_attach([proposal])
            derived = proposal_state(proposal, now)
            if derived != proposal.state:
                _transition(proposal, now=now, actor="system", action=AuditAction.PROPOSAL_STATE_CHANGED, data={})
                changed.append(proposal_id)
        if derived == SUCCEEDED:
            try:
                proposal_queue(proposal_id=proposal_id, actor="system", now=now)
                queued.append(proposal_id)
            except ActionNotAllowed:
                logger.info("proposal %s was queued concurrently", proposal_id)
    return {"changed": changed, "queued": queued}


def proposal_recount_record(*, proposal_id: int, actor: str, audit_match: bool = True) -> Recount:
    """Recount a proposal from its stored signatures and record the result publicly.

    A recount that finds a mismatch is always audited; a matching one only when `audit_match` (a signed-in
    or scheduled recount), so anonymous visitors cannot grow the audit trail by pressing the button.
    """
    proposal = Proposal.objects.get(pk=proposal_id)
    recount = proposal_recount(proposal)
    if audit_match or not recount.matches:
        with transaction.atomic():
            audit_record(action=AuditAction.PROPOSAL_RECOUNTED, subject=proposal, actor=actor, data=recount.as_dict())
    return recount

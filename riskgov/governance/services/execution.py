"""Executing a queued proposal: guardrails again, push to RiskParameterRegistry, then one DB write.

Order, so that the database and the chain never disagree silently:
1. re-check every market's change with the guardrails (nothing is sent when one fails), and for a market with
   a risk budget wait for its paired-run attestation (`services.risk_budget`; nothing is sent before it);
2. per market, push ``setParameters`` from the executor account and commit the receipt (tx hash,
   block, registry version) on a ProposalExecution row; a market whose registry values already equal
   the target (a push whose receipt was not recorded) is recognised and not sent again;
3. write every market's new MarginParameters version (source PROPOSAL) and mark the proposal
   Executed in one transaction.
A failure leaves the proposal Queued with the error shown; the next attempt resumes at the first
step not done. Running it twice creates one version per market.

Registry units: rates and max leverage 1e18 fixed point; ``oiCap`` base units (1e18) per side,
converted from the quote-notional ``oi_cap`` with the market's mark price when the proposal sets it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from eth_account.signers.local import LocalAccount
from web3.logs import DISCARD

from chain.client import ChainClient
from chain.conf import ExecutorKeyError
from chain.conf import executor_account as configured_executor
from chain.errors import ChainError, ContractReverted
from chain.registry import REGISTRY_FIELDS, registry_update_call
from chain.units import market_id
from riskgov.core.models import AuditAction
from riskgov.core.models.versions import ChangeSource
from riskgov.core.services.audit import audit_record
from riskgov.governance.domain.state import executable, proposal_state
from riskgov.governance.errors import ActionNotAllowed, GovernanceError
from riskgov.governance.models import Proposal, ProposalExecution
from riskgov.governance.selectors import chain_reads
from riskgov.governance.selectors.proposals import tally_attach
from riskgov.governance.services.proposals import proposal_overrides
from riskgov.governance.services.registry_targets import chain_symbol, registry_values_for
from riskgov.governance.services.risk_budget import proposal_risk_budget_gate
from riskgov.markets.models import MarginParameters, Market, ParameterChangeRequest
from riskgov.markets.services.guardrails import GuardrailError, guardrails_check
from riskgov.markets.services.parameters import margin_parameters_change

logger = logging.getLogger(__name__)


class ExecutionFailed(GovernanceError):
    """An execution attempt failed; the proposal stays Queued and is retried."""

    status = 502


class ExecutionUnavailable(ExecutionFailed):
    """The chain could not be reached or did not answer: a transient failure, worth another attempt soon."""


def executor_account() -> LocalAccount:
    """CHAIN_EXECUTOR_KEY's account (Anvil's dev account 0 in demo mode); ExecutionFailed when unset."""
    try:
        return configured_executor()
    except ExecutorKeyError as exc:
        raise ExecutionFailed("no_executor", str(exc)) from exc


def _find_update_tx(registry: Any, mid: bytes, version: int) -> tuple[str, int | None]:
    logs = registry.events.ParametersUpdated().get_logs(
        from_block=0, argument_filters={"marketId": mid, "version": version}
    )
    if not logs:
        return "", None
    return logs[-1]["transactionHash"].to_0x_hex(), int(logs[-1]["blockNumber"])


def _push_market(client: ChainClient, registry: Any, execution: ProposalExecution, now: datetime) -> None:
    """Send setParameters for one market unless the registry already holds the target values."""
    mid = market_id(chain_symbol(execution.market))
    target = [int(execution.registry_values[name]) for name in REGISTRY_FIELDS]
    if client.call(registry.functions.isConfigured(mid)):
        onchain = list(client.call(registry.functions.getParameters(mid)))
        if [int(v) for v in onchain[:6]] == target:
            version = int(onchain[6])
            execution.tx_hash, execution.block_number = _find_update_tx(registry, mid, version)
            execution.registry_version, execution.pushed_at = version, now
            execution.save()
            return
    call = registry_update_call(registry, chain_symbol(execution.market), execution.registry_values)
    receipt = client.transact(call, sender=executor_account())
    event = registry.events.ParametersUpdated().process_receipt(receipt, errors=DISCARD)[0]
    execution.tx_hash = receipt["transactionHash"].to_0x_hex()
    execution.block_number = int(receipt["blockNumber"])
    execution.registry_version = int(event["args"]["version"])
    execution.pushed_at = now
    execution.save()


def _execution_row(proposal: Proposal, market: Market, targets: dict[str, str]) -> ProposalExecution:
    try:
        with transaction.atomic():
            row, _ = ProposalExecution.objects.get_or_create(
                proposal=proposal, market=market, defaults={"registry_values": targets}
            )
    except IntegrityError:
        row = ProposalExecution.objects.get(proposal=proposal, market=market)
    return row


def _claim(proposal_id: int, now: datetime) -> Proposal | None:
    with transaction.atomic():
        proposal = Proposal.objects.select_for_update().get(pk=proposal_id)
        if proposal.is_onchain:
            raise ActionNotAllowed(
                "onchain_execution",
                f"Proposal #{proposal_id} settles on chain: any wallet sends the Governor's execute once the timelock "
                "allows; the app holds no key that can change parameters.",
            )
        tally_attach([proposal])
        if proposal.executed_at is not None:
            return None
        if not executable(proposal, now):
            state = proposal_state(proposal, now)
            eta = f" until {proposal.eta:%Y-%m-%d %H:%M:%S} UTC" if proposal.eta and state == "queued" else ""
            raise ActionNotAllowed("not_executable", f"Proposal #{proposal_id} is {state}{eta}; it cannot execute now.")
        proposal.execution_attempts += 1
        proposal.last_execution_attempt_at = now
        proposal.save(update_fields=["execution_attempts", "last_execution_attempt_at"])
    return proposal


def _record_failure(proposal: Proposal, message: str, actor: str) -> None:
    with transaction.atomic():
        Proposal.objects.filter(pk=proposal.pk).update(execution_error=message)
        audit_record(
            action=AuditAction.PROPOSAL_EXECUTION_FAILED, subject=proposal, actor=actor, data={"error": message}
        )


def proposal_execute(*, proposal_id: int, actor: str = "system", now: datetime | None = None) -> Proposal:
    """Execute a queued proposal past its timelock (idempotent). Raises ExecutionFailed after recording it."""
    now = now or timezone.now()
    proposal = _claim(proposal_id, now)
    if proposal is None:
        return Proposal.objects.get(pk=proposal_id)
    grouped = proposal_overrides(proposal)
    markets = {m.symbol: m for m in Market.objects.filter(symbol__in=grouped)}
    try:
        proposed: dict[str, dict[str, Decimal | None]] = {}
        errors: list[str] = []
        for symbol, fields in grouped.items():
            current = MarginParameters.objects.filter(market=markets[symbol]).order_by("-version").first()
            proposed[symbol] = {**(current.values() if current else {}), **fields}
            try:
                guardrails_check(
                    market=markets[symbol],
                    current=current,
                    proposed=proposed[symbol],
                    source=ChangeSource.PROPOSAL,
                    now=now,
                )
            except GuardrailError as exc:
                errors += [f"{symbol} {violation}" for violation in exc.violations]
        if errors:
            raise ExecutionFailed("guardrail_violation", "Guardrails fail at execution: " + "; ".join(errors))
        attested = _risk_budget_gate(proposal, grouped, markets, now)
        client = chain_reads.chain_client()
        registry = client.contract("RiskParameterRegistry", proposal.verifying_contract)
        for symbol in sorted(grouped):
            market = markets[symbol]
            existing = ProposalExecution.objects.filter(proposal=proposal, market=market).first()
            targets = (
                existing.registry_values
                if existing
                else registry_values_for(client, registry, market, proposed[symbol], "oi_cap" in grouped[symbol])
            )
            row = existing or _execution_row(proposal, market, targets)
            with transaction.atomic():
                row = ProposalExecution.objects.select_for_update().select_related("market").get(pk=row.pk)
                if row.pushed_at is None:
                    _push_market(client, registry, row, now)
        _write_versions(proposal.pk, grouped, markets, actor=actor, now=now, attested=attested)
    except ContractReverted as exc:
        _record_failure(proposal, f"Registry rejected the update: {exc}", actor)
        raise ExecutionFailed("registry_reverted", str(exc)) from exc
    except ChainError as exc:
        _record_failure(proposal, f"Chain call failed, will retry: {exc}", actor)
        raise ExecutionUnavailable("chain_failed", str(exc)) from exc
    except (GovernanceError, GuardrailError) as exc:
        _record_failure(proposal, str(exc), actor)
        raise ExecutionFailed(getattr(exc, "code", "guardrail_violation"), str(exc)) from exc
    return Proposal.objects.get(pk=proposal_id)


def _risk_budget_gate(
    proposal: Proposal,
    grouped: dict[str, dict[str, Decimal | None]],
    markets: dict[str, Market],
    now: datetime,
) -> dict[str, ParameterChangeRequest]:
    """The attested change request of each market with a risk budget; ExecutionFailed (nothing is pushed) while
    one waits for its paired run or after its budget refused it. The attestation's worker sends the execution
    again once it is attested."""
    attested: dict[str, ParameterChangeRequest] = {}
    waiting: list[str] = []
    for symbol in sorted(grouped):
        request, problem = proposal_risk_budget_gate(
            proposal=proposal, market=markets[symbol], changes=grouped[symbol], now=now
        )
        if problem:
            waiting.append(problem)
        elif request is not None:
            attested[symbol] = request
    if waiting:
        raise ExecutionFailed("risk_budget", "Risk budget: " + "; ".join(waiting))
    return attested


def _write_versions(
    proposal_id: int,
    grouped: dict[str, dict[str, Decimal | None]],
    markets: dict[str, Market],
    *,
    actor: str,
    now: datetime,
    attested: dict[str, ParameterChangeRequest] | None = None,
) -> None:
    with transaction.atomic():
        proposal = Proposal.objects.select_for_update().get(pk=proposal_id)
        tally_attach([proposal])
        if proposal.executed_at is not None:
            return
        transactions: dict[str, str] = {}
        for symbol in sorted(grouped):
            row = ProposalExecution.objects.select_for_update().get(proposal=proposal, market=markets[symbol])
            version = margin_parameters_change(
                market=markets[symbol],
                changes=grouped[symbol],
                source=ChangeSource.PROPOSAL,
                reason=f"Governance proposal #{proposal.pk}: {proposal.title}",
                actor=f"proposal:{proposal.pk}",
                effective_at=now,
                proposal_ref=str(proposal.pk),
                change_request=(attested or {}).get(symbol),
            )
            row.parameters = version
            row.save(update_fields=["parameters"])
            transactions[symbol] = row.tx_hash
        proposal.executed_at = now
        proposal.execution_error = ""
        previous = proposal.state
        proposal.state = proposal_state(proposal, now)
        proposal.state_changed_at = now
        proposal.save()
        audit_record(
            action=AuditAction.PROPOSAL_EXECUTED,
            subject=proposal,
            actor=actor,
            data={"from": previous, "to": proposal.state, "transactions": transactions},
        )

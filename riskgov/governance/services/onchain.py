"""On-chain mode: a proposal settles on the RiskGovernor, whose timelock owns the registry.

- creation builds the ``propose(targets, values, calldatas, description)`` payload from exactly the registry
  update the guardrails checked; the proposer's wallet sends it and the proposal's id is the Governor's;
- the state, the eta and the outcome are read from the chain (``proposal_onchain_sync``, from the tick);
- anyone's wallet queues and executes; the app only builds the transaction and simulates it first, so a call
  the chain refuses (execute before the timelock's delay) is shown as its decoded revert;
- parameter versions follow the registry: a version is written only once the indexer holds the
  ``ParametersUpdated`` event of the Governor's execute transaction with exactly the proposal's values.

The app holds no key that can change parameters here. Registry values are 1e18 integers (chain.registry).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3Exception
from web3.logs import DISCARD

from chain import governor as chain_governor
from chain.deploy import GovernorSpec
from chain.errors import ChainError, ContractReverted
from chain.models import RegistryUpdate
from chain.registry import REGISTRY_FIELDS
from chain.reverts import decode_revert, render_args
from chain.units import from_fixed
from riskgov.core.models import AuditAction
from riskgov.core.models.versions import ChangeSource
from riskgov.core.services.audit import audit_record
from riskgov.governance.errors import ActionNotAllowed, ChainNotConfigured, GovernanceError
from riskgov.governance.models import GovernanceMode, GovernanceSettings, Proposal, ProposalExecution, ProposalState
from riskgov.governance.selectors import chain_reads
from riskgov.governance.selectors.onchain import GOVERNOR_STATES
from riskgov.markets.models import Market
from riskgov.markets.services.guardrails import GuardrailError
from riskgov.markets.services.parameters import margin_parameters_change

logger = logging.getLogger(__name__)

ONCHAIN_ACTIONS = ("propose", "queue", "execute")


def governor_spec_from_settings() -> GovernorSpec:
    """The RiskGovernor and timelock settings mirroring the app's governance settings (seconds become blocks of
    CHAIN_SECONDS_PER_BLOCK); chain_deploy reads it through the provider registered at start-up."""
    config, _ = GovernanceSettings.objects.get_or_create(pk=1)
    return GovernorSpec.from_seconds(
        voting_delay_seconds=config.voting_delay_seconds,
        voting_period_seconds=config.voting_period_seconds,
        proposal_threshold=int(config.proposal_threshold),
        quorum_fraction=Decimal(config.quorum_fraction),
        vote_extension_seconds=int(settings.RISKGOV_GOVERNANCE_VOTE_EXTENSION_SECONDS),
        timelock_seconds=config.timelock_seconds,
        guardian=config.guardian_address,
        seconds_per_block=int(getattr(settings, "CHAIN_SECONDS_PER_BLOCK", 12)),
    )


def governor_required() -> chain_reads.GovernanceChain:
    """The active deployment, which must have a Governor; ChainNotConfigured naming the fix otherwise."""
    chain = chain_reads.governance_chain()
    if not chain.governor:
        raise ChainNotConfigured(
            "governor_not_deployed",
            f"On-chain governance needs a RiskGovernor on chain {chain.chain_id}, but the active deployment has "
            "none: deploy with `manage.py chain_deploy --governance onchain`.",
        )
    return chain


def onchain_description(*, proposal_id: int, title: str, description: str, proposer: str) -> str:
    """The description sent to ``propose``: title and text, the app's proposal number (so equal payloads never
    share a Governor id) and OpenZeppelin's ``#proposer=`` suffix, so only the proposer can submit it."""
    return f"# {title}\n\n{description.strip()}\n\nRiskGov proposal #{proposal_id}\n\n#proposer={proposer}"


def onchain_payload_build(
    *, proposal: Proposal, registry: str, market_targets: list[tuple[Market, str, dict[str, str]]]
) -> chain_governor.ProposalPayload:
    """Attach the propose payload to a new on-chain proposal: one ``setParameters`` per market with the registry
    values the guardrails passed (``market_targets``: market, registry symbol, 1e18 targets); sets the id."""
    description = onchain_description(
        proposal_id=proposal.pk, title=proposal.title, description=proposal.description, proposer=proposal.proposer
    )
    payload = chain_governor.registry_update_payload(
        registry, [(symbol, targets) for _, symbol, targets in market_targets], description
    )
    proposal.onchain_payload = {
        **payload.as_json(),
        "markets": [
            {"market": market.symbol, "registry_symbol": symbol, "registry_values": targets}
            for market, symbol, targets in market_targets
        ],
    }
    proposal.onchain_proposal_id = Decimal(payload.proposal_id)
    proposal.save(update_fields=["onchain_payload", "onchain_proposal_id"])
    return payload


def proposal_payload(proposal: Proposal) -> chain_governor.ProposalPayload:
    """The stored payload, rebuilt (id and description hash recomputed); checked against the stored id."""
    payload = chain_governor.ProposalPayload.from_json(proposal.onchain_payload)
    if proposal.onchain_proposal_id is None or payload.proposal_id != int(proposal.onchain_proposal_id):
        raise GovernanceError("payload_mismatch", f"Proposal #{proposal.pk}'s stored payload does not hash to its id.")
    return payload


def _onchain(proposal_id: int, *, lock: bool = False) -> Proposal:
    rows = Proposal.objects.select_for_update() if lock else Proposal.objects
    proposal = rows.get(pk=proposal_id)
    if proposal.governance_mode != GovernanceMode.ONCHAIN:
        raise ActionNotAllowed("not_onchain", f"Proposal #{proposal_id} is settled off-chain.")
    return proposal


# Transactions the wallet sends ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WalletTransaction:
    """An unsigned transaction for the wallet and the result of simulating it from `sender` (eth_call)."""

    action: str
    to: str
    data: str
    value: str
    reverts: bool
    revert_error: str = ""
    revert_message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action, "to": self.to, "data": self.data, "value": self.value,
            "preflight": {"reverts": self.reverts, "error": self.revert_error, "message": self.revert_message},
        }  # fmt: skip


def _revert_text(error: ContractReverted) -> str:
    hints = {
        "TimelockUnexpectedOperationState": "the timelock's delay has not passed yet (or the operation is not queued)",
        "GovernorUnexpectedProposalState": "the proposal is not in a state that allows this",
        "GovernorRestrictedProposer": "only the proposer named in the description may propose it",
        "GovernorInsufficientProposerVotes": "the proposer's votes are below the proposal threshold",
    }
    hint = hints.get(error.error, "")
    return f"{error.error}({render_args(error.args_by_name)})" + (f": {hint}" if hint else "")


def proposal_onchain_transaction(*, proposal_id: int, action: str, sender: str) -> WalletTransaction:
    """The ``propose`` / ``queue`` / ``execute`` transaction of an on-chain proposal for `sender`'s wallet, after
    simulating it from `sender`: a call the Governor or timelock would refuse comes back with its decoded revert."""
    if action not in ONCHAIN_ACTIONS:
        raise ActionNotAllowed("unknown_action", f"action must be one of {', '.join(ONCHAIN_ACTIONS)}", status=400)
    if not Web3.is_address(sender):
        raise ActionNotAllowed("invalid_sender", f"{sender!r} is not an address", field="from", status=400)
    proposal = _onchain(proposal_id)
    payload = proposal_payload(proposal)
    governor = proposal.verifying_contract
    tx = {"propose": payload.propose_tx, "queue": payload.queue_tx, "execute": payload.execute_tx}[action](governor)
    try:
        _simulate(chain_reads.chain_client().w3, tx, Web3.to_checksum_address(sender))
    except ContractReverted as error:
        return WalletTransaction(action, tx["to"], tx["data"], tx["value"], True, error.error, _revert_text(error))
    return WalletTransaction(action, tx["to"], tx["data"], tx["value"], False)


def _simulate(w3: Web3, tx: dict[str, str], sender: str) -> None:
    """eth_call of `tx` from `sender` at the latest block; raises ContractReverted with the decoded error."""
    try:
        w3.eth.call({"from": sender, "to": tx["to"], "data": tx["data"]})  # type: ignore[typeddict-item]
    except ContractLogicError as exc:
        data = exc.data if isinstance(exc.data, str) else None
        decoded = decode_revert(data)
        error, args = (decoded.error, decoded.args) if decoded else ("Unknown", {"message": str(exc)})
        raise ContractReverted(error=error, args=args, data=data or "0x") from exc
    except (Web3Exception, ValueError) as exc:
        raise ChainError(f"simulating the transaction failed: {exc}") from exc


# Following the chain ----------------------------------------------------------------------------------------


def _block_time(w3: Web3, block: int, head: int, head_time: int) -> datetime:
    """The block's timestamp when it is mined, else an estimate at CHAIN_SECONDS_PER_BLOCK per block."""
    if block <= head:
        return datetime.fromtimestamp(int(w3.eth.get_block(block)["timestamp"]), tz=UTC)
    seconds = int(getattr(settings, "CHAIN_SECONDS_PER_BLOCK", 12))
    return datetime.fromtimestamp(head_time + (block - head) * seconds, tz=UTC)


def proposal_propose_confirm(*, proposal_id: int, tx_hash: str, now: datetime | None = None) -> Proposal:
    """Record the proposer's ``propose`` transaction once its receipt holds the Governor's ProposalCreated for
    exactly this proposal's id; then take snapshot and window from the chain. Raises ActionNotAllowed (naming
    the revert) when the transaction failed or created another proposal."""
    now = now or timezone.now()
    proposal = _onchain(proposal_id)
    client = chain_reads.chain_client()
    try:
        receipt = client.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
    except (TransactionNotFound, ValueError) as exc:
        raise ActionNotAllowed("unknown_transaction", f"no mined transaction {tx_hash} on the chain yet") from exc
    if int(receipt["status"]) != 1:
        raise ActionNotAllowed("propose_reverted", f"the propose transaction {tx_hash} reverted on chain")
    contract = chain_governor.governor_contract(client.w3, proposal.verifying_contract)
    created = [
        log
        for log in contract.events.ProposalCreated().process_receipt(receipt, errors=DISCARD)
        if int(log["args"]["proposalId"]) == int(proposal.onchain_proposal_id or 0)
    ]
    if not created:
        raise ActionNotAllowed(
            "not_this_proposal", f"transaction {tx_hash} did not create proposal {proposal.onchain_proposal_id}"
        )
    with transaction.atomic():
        locked = _onchain(proposal_id, lock=True)
        if locked.proposed_onchain_at is None:
            locked.propose_tx_hash = HexBytes(receipt["transactionHash"]).to_0x_hex()
            locked.proposed_onchain_at = now
            locked.save(update_fields=["propose_tx_hash", "proposed_onchain_at"])
            audit_record(
                action=AuditAction.PROPOSAL_STATE_CHANGED, subject=locked, actor=locked.proposer,
                data={"from": locked.state, "to": locked.state, "onchain": "proposed",
                      "tx_hash": locked.propose_tx_hash, "proposal_id": str(locked.onchain_proposal_id)},
            )  # fmt: skip
    return proposal_onchain_sync(proposal_id=proposal_id, now=now)


def proposal_onchain_sync(*, proposal_id: int, now: datetime | None = None) -> Proposal:
    """Take an on-chain proposal's state, snapshot, window, eta and outcome from the Governor; when executed, write
    the parameter versions the registry's events prove. Safe to run any number of times."""
    now = now or timezone.now()
    proposal = _onchain(proposal_id)
    client = chain_reads.chain_client()
    w3, governor, pid = client.w3, proposal.verifying_contract, int(proposal.onchain_proposal_id or 0)
    snapshot = chain_governor.proposal_snapshot(w3, governor, pid)
    if snapshot == 0:  # the Governor does not know it yet: the proposer's wallet has not sent propose
        return proposal
    state: str = GOVERNOR_STATES[chain_governor.proposal_state(w3, governor, pid)]
    deadline = chain_governor.proposal_deadline(w3, governor, pid)
    eta = chain_governor.proposal_eta(w3, governor, pid)
    head = w3.eth.get_block("latest")
    head_number, head_time = int(head["number"]), int(head["timestamp"])
    with transaction.atomic():
        locked = _onchain(proposal_id, lock=True)
        previous = locked.state
        _window_apply(locked, w3, snapshot=snapshot, deadline=deadline, head=(head_number, head_time))
        if locked.proposed_onchain_at is None:
            locked.proposed_onchain_at = now
        if eta and locked.queued_at is None:
            locked.queued_at = datetime.fromtimestamp(eta, tz=UTC) - timedelta(seconds=locked.timelock_seconds)
        state = _cancel_apply(locked, state, now)
        locked.onchain_state = state
        locked.onchain_synced_at = now
        locked.state = state
        if previous != state:
            locked.state_changed_at = now
        locked.save()
        if previous != state:
            audit_record(
                action=AuditAction.PROPOSAL_STATE_CHANGED, subject=locked, actor="chain",
                data={"from": previous, "to": state, "onchain": True},
            )  # fmt: skip
    if state == ProposalState.EXECUTED and proposal.executed_at is None:
        proposal_registry_follow(proposal_id=proposal_id, now=now)
    return Proposal.objects.get(pk=proposal_id)


def _window_apply(proposal: Proposal, w3: Web3, *, snapshot: int, deadline: int, head: tuple[int, int]) -> None:
    """Snapshot, supply and voting window (times of the Governor's blocks) from the chain; a deadline past the
    first one seen is a late quorum's extension."""
    locked, head_number = proposal, head[0]
    starts = _block_time(w3, snapshot + 1, *head)
    ends = _block_time(w3, deadline + 1, *head)
    locked.voting_starts_at = starts
    if ends <= starts:
        ends = starts + timedelta(seconds=1)
    supply_block = locked.onchain_payload.get("supply_block")
    locked.snapshot_block = snapshot
    if supply_block != snapshot and head_number > snapshot:  # getPastTotalSupply needs a past block
        locked.total_supply = Decimal(chain_reads.total_supply_at(snapshot))
        supply_block = snapshot
    first_deadline = int(locked.onchain_payload.get("first_deadline_block") or deadline)
    if deadline > first_deadline and locked.voting_extended_from is None:  # a late quorum moved the deadline
        locked.voting_extended_from = _block_time(w3, first_deadline + 1, *head)
    locked.voting_ends_at = ends
    locked.onchain_payload = {
        **locked.onchain_payload, "first_deadline_block": first_deadline, "deadline_block": deadline,
        "snapshot_block": snapshot,
        "supply_block": supply_block,
    }  # fmt: skip


def _cancel_apply(proposal: Proposal, state: str, now: datetime) -> str:
    """Canceled on chain: during the timelock that is the guardian's veto, before it a cancel."""
    if state != ProposalState.CANCELED:
        return state
    if proposal.queued_at is None:
        proposal.canceled_at = proposal.canceled_at or now
        return state
    proposal.vetoed_at = proposal.vetoed_at or now
    proposal.vetoed_by = proposal.vetoed_by or "guardian (on chain)"
    proposal.veto_reason = proposal.veto_reason or "Canceled on chain by the proposal guardian during the timelock."
    return ProposalState.VETOED


def _executed_tx(w3: Web3, governor: str, pid: int, tx_hashes: set[str]) -> str | None:
    """Of `tx_hashes`, the one whose receipt holds the Governor's ProposalExecuted for `pid`."""
    contract = chain_governor.governor_contract(w3, governor)
    for tx_hash in sorted(tx_hashes):
        receipt = w3.eth.get_transaction_receipt(HexBytes(tx_hash))
        for log in contract.events.ProposalExecuted().process_receipt(receipt, errors=DISCARD):
            if int(log["args"]["proposalId"]) == pid:
                return tx_hash
    return None


def proposal_registry_follow(*, proposal_id: int, now: datetime | None = None) -> bool:
    """Write the parameter versions of an executed on-chain proposal once the indexed ParametersUpdated events of
    the Governor's execute transaction carry exactly its registry values; returns whether it did. Until the
    indexer holds them nothing is written, so the database never claims a change the chain did not make."""
    now = now or timezone.now()
    proposal = _onchain(proposal_id)
    markets = proposal.onchain_payload.get("markets", [])
    updates: dict[str, list[RegistryUpdate]] = {}
    for row in RegistryUpdate.objects.filter(
        market_symbol__in=[m["registry_symbol"] for m in markets], block_number__gte=int(proposal.snapshot_block)
    ).order_by("block_number", "log_index"):
        updates.setdefault(row.tx_hash, []).append(row)
    if not updates:
        return False
    w3 = chain_reads.chain_client().w3
    tx_hash = _executed_tx(w3, proposal.verifying_contract, int(proposal.onchain_proposal_id or 0), set(updates))
    if tx_hash is None:
        return False
    by_symbol = {row.market_symbol: row for row in updates[tx_hash]}
    for entry in markets:
        found = by_symbol.get(entry["registry_symbol"])
        onchain = None if found is None else [
            found.imr, found.mmr, found.max_leverage, found.liquidation_penalty, found.insurance_fee_share,
            found.oi_cap,
        ]  # fmt: skip
        expected = [from_fixed(int(entry["registry_values"][name])) for name in REGISTRY_FIELDS]
        if onchain is None or [Decimal(v) for v in onchain] != expected:
            logger.warning("proposal %s: registry event of %s does not carry its values", proposal_id, tx_hash)
            return False
    return _versions_write(proposal_id, by_symbol, now=now)


def _versions_write(proposal_id: int, by_symbol: dict[str, RegistryUpdate], *, now: datetime) -> bool:
    with transaction.atomic():
        proposal = _onchain(proposal_id, lock=True)
        if proposal.executed_at is not None:
            return False
        grouped: dict[str, dict[str, Decimal | None]] = {}
        for change in proposal.changes.select_related("market"):
            grouped.setdefault(change.market.symbol, {})[change.field] = change.new_value
        symbols = {m["market"]: m for m in proposal.onchain_payload["markets"]}
        transactions: dict[str, str] = {}
        for symbol in sorted(grouped):
            entry, market = symbols[symbol], Market.objects.get(symbol=symbol)
            row = by_symbol[entry["registry_symbol"]]
            try:
                version = margin_parameters_change(
                    market=market, changes=grouped[symbol], source=ChangeSource.PROPOSAL,
                    reason=f"Governance proposal #{proposal.pk} executed on chain: {proposal.title}",
                    actor=f"proposal:{proposal.pk}", effective_at=row_time(row, now), proposal_ref=str(proposal.pk),
                )  # fmt: skip
            except GuardrailError as exc:
                transaction.set_rollback(True)
                Proposal.objects.filter(pk=proposal_id).update(
                    execution_error=f"The registry changed on chain, but the guardrails refuse the version: {exc}"
                )
                return False
            ProposalExecution.objects.update_or_create(
                proposal=proposal, market=market,
                defaults={"registry_values": entry["registry_values"], "tx_hash": row.tx_hash,
                          "block_number": row.block_number, "registry_version": row.version, "pushed_at": now,
                          "parameters": version},
            )  # fmt: skip
            transactions[symbol] = row.tx_hash
        proposal.executed_at = now
        proposal.execution_error = ""
        proposal.save(update_fields=["executed_at", "execution_error"])
        audit_record(
            action=AuditAction.PROPOSAL_EXECUTED, subject=proposal, actor="chain",
            data={"to": ProposalState.EXECUTED, "transactions": transactions, "onchain": True},
        )  # fmt: skip
    return True


def row_time(row: RegistryUpdate, default: datetime) -> datetime:
    """When the registry changed: the indexed block's time when known."""
    return getattr(row, "block_time", None) or default


def onchain_proposals_sync(*, now: datetime | None = None) -> list[int]:
    """Sync every open on-chain proposal (the tick); returns the ids whose state changed. A chain failure on one
    proposal is logged and the others still sync."""
    now = now or timezone.now()
    changed: list[int] = []
    open_rows = Proposal.objects.filter(governance_mode=GovernanceMode.ONCHAIN, executed_at__isnull=True).exclude(
        state__in=[ProposalState.CANCELED, ProposalState.DEFEATED, ProposalState.VETOED, ProposalState.EXPIRED]
    )
    for proposal_id, before in open_rows.values_list("pk", "state"):
        try:
            after = proposal_onchain_sync(proposal_id=proposal_id, now=now).state
        except (ChainError, Web3Exception) as exc:
            logger.warning("on-chain proposal %s not synced: %s", proposal_id, exc)
            continue
        if after != before:
            changed.append(proposal_id)
    return changed

"""Delegation reads: the delegates table, a holder's voting-power history, and the typed data wallets sign.

Voting power and delegation come from the indexer's rows of the active deployment's governance token
(``VotingPowerCheckpoint``, ``DelegationChange``, ``TokenTransfer``), in token wei. A delegate's
participation rate is its votes cast over the proposals whose snapshot block is at or after the block where
it first had voting power (the proposals it could have voted on).
"""

from __future__ import annotations

import time
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, Min, OuterRef, Q, QuerySet, Subquery
from eth_utils import to_checksum_address

from chain.eip712 import DOMAIN_NAME, DOMAIN_VERSION, EIP712_DOMAIN_TYPE
from chain.errors import ChainError
from chain.models import (
    ChainEvent,
    ContractRole,
    DelegationChange,
    IndexerCheckpoint,
    TokenTransfer,
    VotingPowerCheckpoint,
)
from chain.selectors.deployments import active_deployment
from riskgov.core.models.uint256 import Uint256Sum
from riskgov.governance.errors import ChainNotConfigured, GovernanceError
from riskgov.governance.models import DelegateStatement, DelegationRelay, Proposal, Vote
from riskgov.governance.selectors import chain_reads

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
WAD = 10**18
DELEGATES_PER_PAGE = 25
DEFAULT_EXPIRY_SECONDS = 3600

DELEGATION_TYPE = [
    {"name": "delegatee", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "expiry", "type": "uint256"},
]
STATEMENT_TYPE = [
    {"name": "delegate", "type": "address"},
    {"name": "statement", "type": "string"},
    {"name": "version", "type": "uint256"},
    {"name": "issuedAt", "type": "uint256"},
]


class ChainUnreachable(GovernanceError):
    """The node cannot be asked (token nonce, EIP-712 domain) right now."""

    status = 503


# ------------------------------------------------------------------------------------------ typed data


@lru_cache(maxsize=4)
def _token_domain(rpc_url: str, token: str) -> tuple[str, str, int, str]:
    client = chain_reads.chain_client()
    fields = client.call(client.contract("GovToken", token).functions.eip712Domain())
    _flags, name, version, chain_id, verifying_contract = fields[:5]
    return str(name), str(version), int(chain_id), to_checksum_address(verifying_contract)


def delegation_domain() -> dict[str, Any]:
    """The governance token's EIP-712 domain as the token reports it (ERC-5267 ``eip712Domain()``)."""
    token = chain_reads.governance_chain().gov_token
    try:
        name, version, chain_id, contract = _token_domain(str(chain_reads.chain_client().rpc_url), token)
    except ChainError as exc:
        raise ChainUnreachable("chain_unavailable", f"the chain cannot be read now: {exc}") from exc
    return {"name": name, "version": version, "chainId": chain_id, "verifyingContract": contract}


def token_nonce(address: str) -> int:
    """The token's ``nonces(address)``: the nonce the next delegateBySig (or permit) of `address` must carry."""
    token = chain_reads.governance_chain().gov_token
    try:
        client = chain_reads.chain_client()
        return int(client.call(client.contract("GovToken", token).functions.nonces(to_checksum_address(address))))
    except ChainError as exc:
        raise ChainUnreachable("chain_unavailable", f"the chain cannot be read now: {exc}") from exc


def delegation_typed_data_for(*, domain: dict[str, Any], delegatee: str, nonce: int, expiry: int) -> dict[str, Any]:
    """The ``eth_signTypedData_v4`` document of ERC20Votes ``Delegation(delegatee, nonce, expiry)``."""
    return {
        "types": {"EIP712Domain": EIP712_DOMAIN_TYPE, "Delegation": DELEGATION_TYPE},
        "primaryType": "Delegation",
        "domain": domain,
        "message": {"delegatee": to_checksum_address(delegatee), "nonce": nonce, "expiry": expiry},
    }


def delegation_typed_data(*, delegator: str, delegatee: str, now: float | None = None) -> dict[str, Any]:
    """What `delegator` signs to delegate to `delegatee` through a relay: the current nonce, valid for an hour."""
    expiry = int(time.time() if now is None else now) + DEFAULT_EXPIRY_SECONDS
    return delegation_typed_data_for(
        domain=delegation_domain(), delegatee=delegatee, nonce=token_nonce(delegator), expiry=expiry
    )


def statement_domain() -> dict[str, Any]:
    """Statements are signed under the ballot domain (name, version, chainId, registry)."""
    chain = chain_reads.governance_chain()
    return {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": chain.chain_id,
            "verifyingContract": chain.registry}  # fmt: skip


def statement_typed_data(*, delegate: str, statement: str, version: int, issued_at: int) -> dict[str, Any]:
    """``DelegateStatement(address delegate,string statement,uint256 version,uint256 issuedAt)`` typed data."""
    return {
        "types": {"EIP712Domain": EIP712_DOMAIN_TYPE, "DelegateStatement": STATEMENT_TYPE},
        "primaryType": "DelegateStatement",
        "domain": statement_domain(),
        "message": {
            "delegate": to_checksum_address(delegate),
            "statement": statement,
            "version": version,
            "issuedAt": issued_at,
        },
    }


def statement_next_version(delegate: str) -> int:
    """The version the delegate's next statement must carry (1 for the first)."""
    latest = (
        DelegateStatement.objects.filter(delegate=to_checksum_address(delegate))
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
    )
    return int(latest or 0) + 1


def relay_get(relay_id: int) -> DelegationRelay | None:
    return DelegationRelay.objects.filter(pk=relay_id).first()


# ------------------------------------------------------------------------------------------ delegates


def _token_checkpoint() -> IndexerCheckpoint | None:
    deployment = active_deployment()
    if deployment is None:
        return None
    return IndexerCheckpoint.objects.filter(deployment=deployment, role=ContractRole.GOV_TOKEN).first()


@dataclass
class DelegateRow:
    """One delegate: votes now (wei), current delegators, votes cast, and proposals it could have voted on."""

    address: str
    votes: int
    delegators: int = 0
    votes_cast: int = 0
    eligible_proposals: int = 0
    first_power_block: int | None = None
    statement: DelegateStatement | None = None

    @property
    def participation(self) -> Decimal | None:
        """Votes cast / eligible proposals as a fraction (0.5 = 50 %); None when there were none."""
        if not self.eligible_proposals:
            return None
        return Decimal(self.votes_cast) / Decimal(self.eligible_proposals)

    @property
    def votes_tokens(self) -> Decimal:
        return Decimal(self.votes) / WAD


SORTS = {
    "power": lambda row: (row.votes,),
    "delegators": lambda row: (row.delegators, row.votes),
    "votes_cast": lambda row: (row.votes_cast, row.votes),
    "participation": lambda row: (row.participation is not None, row.participation or 0, row.votes),
}


@dataclass
class DelegatesPage:
    page: Page[DelegateRow] | None
    sort: str
    descending: bool
    indexed_block: int | None
    total_votes: int = 0
    proposals: int = 0
    rows: list[DelegateRow] = field(default_factory=list)


def _current_delegates(checkpoint: IndexerCheckpoint) -> dict[str, str]:
    """delegator -> its current delegate (the last DelegateChanged of each delegator)."""
    latest = DelegationChange.objects.filter(checkpoint=checkpoint, delegator=OuterRef("delegator")).order_by(
        "-block_number", "-log_index"
    )
    rows = (
        DelegationChange.objects.filter(checkpoint=checkpoint)
        .values("delegator")
        .annotate(changes=Count("id"), current=Subquery(latest.values("to_delegate")[:1]))
        .values_list("delegator", "current")
    )
    return {delegator: current for delegator, current in rows if current and current != ZERO_ADDRESS}


def _deployment_proposals(checkpoint: IndexerCheckpoint) -> QuerySet[Proposal]:
    """Proposals whose ballots are bound to this deployment (its chain and registry)."""
    deployment = checkpoint.deployment
    return Proposal.objects.filter(chain_id=deployment.chain_id, verifying_contract__iexact=deployment.registry)


def delegate_rows() -> list[DelegateRow]:
    """Every address with voting power now, or with a statement, and its figures (unsorted). A fixed number of
    queries whatever the number of delegates."""
    checkpoint = _token_checkpoint()
    if checkpoint is None:
        return []
    latest = VotingPowerCheckpoint.objects.filter(checkpoint=checkpoint, delegatee=OuterRef("delegatee")).order_by(
        "-block_number", "-log_index"
    )
    powers = (
        VotingPowerCheckpoint.objects.filter(checkpoint=checkpoint)
        .values("delegatee")
        .annotate(first_power=Min("block_number", filter=Q(votes__gt=0)), now=Subquery(latest.values("votes")[:1]))
        .values_list("delegatee", "first_power", "now")
    )
    rows: dict[str, DelegateRow] = {}
    for delegatee, first_power, votes in powers:
        if votes and int(votes) > 0:
            rows[delegatee] = DelegateRow(address=delegatee, votes=int(votes), first_power_block=first_power)
        elif first_power is not None:  # had power once: kept so a statement author with none left still shows
            rows[delegatee] = DelegateRow(address=delegatee, votes=0, first_power_block=first_power)
    statements = latest_statements(chain_id=int(checkpoint.deployment.chain_id))
    for address in statements:
        rows.setdefault(address, DelegateRow(address=address, votes=0))
    rows = {address: row for address, row in rows.items() if row.votes > 0 or address in statements}
    for delegate in _current_delegates(checkpoint).values():
        if delegate in rows:
            rows[delegate].delegators += 1
    proposals = _deployment_proposals(checkpoint)
    snapshots = sorted(int(block) for block in proposals.values_list("snapshot_block", flat=True))
    cast = dict(
        Vote.objects.filter(proposal__in=proposals, voter__in=list(rows))
        .values("voter")
        .annotate(n=Count("id"))
        .values_list("voter", "n")
    )
    for address, row in rows.items():
        row.votes_cast = int(cast.get(address, 0))
        row.statement = statements.get(address)
        if row.first_power_block is not None:
            row.eligible_proposals = len(snapshots) - bisect_left(snapshots, row.first_power_block)
    return list(rows.values())


def latest_statements(*, chain_id: int) -> dict[str, DelegateStatement]:
    """The shown (newest) statement version of every delegate that published one."""
    newest = DelegateStatement.objects.filter(chain_id=chain_id, delegate=OuterRef("delegate")).order_by("-version")
    rows = DelegateStatement.objects.filter(chain_id=chain_id, pk=Subquery(newest.values("pk")[:1]))
    return {row.delegate: row for row in rows}


def delegates_page(*, sort: str = "power", descending: bool = True, page: Any = 1) -> DelegatesPage:
    """The delegates table sorted by `sort` (power, delegators, votes_cast, participation), 25 per page."""
    sort = sort if sort in SORTS else "power"
    checkpoint = _token_checkpoint()
    rows = delegate_rows()
    key = SORTS[sort]
    rows.sort(key=lambda row: row.address.lower())  # ties in address order, whichever direction
    rows.sort(key=key, reverse=descending)
    paginator = Paginator(rows, DELEGATES_PER_PAGE)
    return DelegatesPage(
        page=paginator.get_page(page),
        sort=sort,
        descending=descending,
        indexed_block=None if checkpoint is None else checkpoint.block_number,
        total_votes=sum(row.votes for row in rows),
        proposals=0 if checkpoint is None else _deployment_proposals(checkpoint).count(),
        rows=rows,
    )


# ------------------------------------------------------------------------------------------ holder


@dataclass(frozen=True)
class PowerPoint:
    """The holder's voting power (wei) after a DelegateVotesChanged in `block_number`."""

    block_number: int
    block_time: datetime | None
    previous_votes: int
    votes: int
    tx_hash: str

    @property
    def change(self) -> int:
        return self.votes - self.previous_votes


@dataclass(frozen=True)
class Delegator:
    address: str
    balance: int  # token wei it holds now, which is what it lends as votes


@dataclass
class HolderPage:
    address: str
    indexed_block: int | None
    balance: int = 0
    votes: int = 0
    delegate: str | None = None
    history: list[PowerPoint] = field(default_factory=list)
    delegators: list[Delegator] = field(default_factory=list)
    statements: list[DelegateStatement] = field(default_factory=list)
    relays: list[DelegationRelay] = field(default_factory=list)
    next_version: int = 1
    chart: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    @property
    def statement(self) -> DelegateStatement | None:
        return self.statements[0] if self.statements else None


def _balances(checkpoint: IndexerCheckpoint, addresses: list[str]) -> dict[str, int]:
    transfers = TokenTransfer.objects.filter(checkpoint=checkpoint)
    received = dict(
        transfers.filter(recipient__in=addresses)
        .values("recipient")
        .annotate(total=Uint256Sum("amount"))
        .values_list("recipient", "total")
    )
    sent = dict(
        transfers.filter(sender__in=addresses)
        .values("sender")
        .annotate(total=Uint256Sum("amount"))
        .values_list("sender", "total")
    )
    return {address: int(received.get(address) or 0) - int(sent.get(address) or 0) for address in addresses}


def holder_page(address: str) -> HolderPage:
    """A holder's votes, balance, delegate, voting-power history, delegators, statements and relays."""
    holder = to_checksum_address(address)
    checkpoint = _token_checkpoint()
    statements = list(DelegateStatement.objects.filter(delegate=holder).order_by("-version"))
    relays = list(DelegationRelay.objects.filter(delegator=holder).order_by("-created_at", "-pk")[:10])
    page = HolderPage(address=holder, indexed_block=None, statements=statements, relays=relays,
                      next_version=(statements[0].version + 1) if statements else 1)  # fmt: skip
    if checkpoint is None:
        page.error = "No governance token is indexed on this chain yet (run manage.py chain_deploy)."
        return page
    page.indexed_block = checkpoint.block_number
    block_time = ChainEvent.objects.filter(
        checkpoint=checkpoint, tx_hash=OuterRef("tx_hash"), log_index=OuterRef("log_index")
    ).values("block_time")[:1]
    points = (
        VotingPowerCheckpoint.objects.filter(checkpoint=checkpoint, delegatee=holder)
        .order_by("block_number", "log_index")
        .annotate(time=Subquery(block_time))
        .values_list("block_number", "time", "previous_votes", "votes", "tx_hash")
    )
    page.history = [PowerPoint(int(b), t, int(p), int(v), h) for b, t, p, v, h in points]
    page.votes = page.history[-1].votes if page.history else 0
    current = _current_delegates(checkpoint)
    page.delegate = current.get(holder)
    delegators = sorted(delegator for delegator, delegate in current.items() if delegate == holder)
    balances = _balances(checkpoint, [*delegators, holder])
    page.balance = balances[holder]
    page.delegators = sorted(
        (Delegator(address=delegator, balance=balances[delegator]) for delegator in delegators),
        key=lambda row: (-row.balance, row.address),
    )
    page.chart = {
        "type": "line",
        "stepped": True,
        "format": "count",
        "labels": [f"block {point.block_number}" for point in page.history],
        "datasets": [{"label": "Voting power (tokens)", "data": [point.votes / WAD for point in page.history]}],
        "x_title": "block (times in the table below)",
        "y_title": "votes (tokens)",
    }
    return page


def chain_configured() -> bool:
    try:
        chain_reads.governance_chain()
    except ChainNotConfigured:
        return False
    return True

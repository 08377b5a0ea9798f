"""Risk budget end to end for an off-chain proposal on Anvil with a real Celery worker.

The execution of a proposal that changes a budgeted market waits for its attestation: the first execution
starts it, the worker runs the paired simulation, attests within the budget and sends the execution again,
which pushes the registry update on Anvil and writes the parameter version with the attestation. A loosening
change on a market whose budget allows no increase is refused by the worker, and the proposal page says why.

The node listens on the port the suite exports as CHAIN_RPC_URL (tests.chain_indexer.conftest), so the
session's worker talks to it; the worker executes with the deployer's key, exported below before it starts.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal as D
from typing import Any

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone
from hexbytes import HexBytes

from chain.client import ChainClient
from chain.deploy import DEFAULT_MARKETS, DemoAccounts
from chain.eip712 import Ballot, BallotDomain, sign_ballot
from chain.units import from_fixed, market_id
from insurance.models import AttestationStatus, CoverageRun, EntryKind, InsuranceFund, RiskAttestation, RunStatus
from insurance.services.ledger import ledger_entry_record
from riskgov.core.models import AuditAction, AuditRecord
from riskgov.core.models.versions import ChangeSource
from riskgov.governance.models import GovernanceSettings, Proposal, ProposalChangeRequest, ProposalState, Vote
from riskgov.governance.selectors import chain_reads as governance_chain
from riskgov.governance.services.execution import ExecutionFailed, proposal_execute
from riskgov.governance.services.proposals import ChangeInput, proposal_create
from riskgov.governance.services.votes import SignedBallot, vote_cast
from riskgov.markets.models import (
    Account,
    ChangeRequestStatus,
    MarginParameters,
    Market,
    ParameterChangeRequest,
    Position,
    PriceObservation,
    RiskBudget,
)
from riskgov.markets.services.parameters import margin_parameters_change
from tests.factories import address_for
from tests.governance.test_onchain_lifecycle import onchain_node  # noqa: F401  (fixture)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
WAD = 10**18
DEPLOYER = DemoAccounts.from_mnemonic(0).deployer
# The session's worker inherits this: it pushes the attested proposal's update (demo mode is off in the tests).
os.environ.setdefault("CHAIN_EXECUTOR_KEY", HexBytes(DEPLOYER.key).to_0x_hex())


@pytest.fixture
def deployed(settings: Any, onchain_node: str, celery_worker_process: Any) -> Iterator[dict[str, Any]]:  # noqa: F811
    """The protocol deployed (off-chain governance) with the demo's holders and positions, a funded insurance
    fund, two days of hourly prices and a leveraged BTC book, so that a paired coverage run can start."""
    from chain.services.deployments import protocol_deploy

    settings.CHAIN_RPC_URL, settings.CHAIN_ID, settings.RISKGOV_DEMO_MODE = onchain_node, 31337, True
    settings.CHAIN_EXECUTOR_KEY = os.environ["CHAIN_EXECUTOR_KEY"]
    governance_chain._client.cache_clear()
    governance_chain._token_checkpoint.cache_clear()
    client = ChainClient.connect(onchain_node, chain_id=31337)
    snapshot = client.rpc("evm_snapshot")
    try:
        outcome = protocol_deploy(client=client, demo=True, governance_mode="offchain")
        for spec in DEFAULT_MARKETS:
            margin_parameters_change(
                market=Market.objects.get(symbol=spec.symbol.split("-")[0]), source=ChangeSource.GENESIS,
                reason="genesis", actor="test",
                changes={"imr": spec.imr, "mmr": spec.mmr, "max_leverage": spec.max_leverage,
                         "liquidation_penalty": spec.liquidation_penalty,
                         "insurance_fee_share": spec.insurance_fee_share, "oi_cap": D("300000000")},
            )  # fmt: skip
        GovernanceSettings.objects.update_or_create(pk=1, defaults={
            "proposal_threshold": D(100 * WAD), "voting_delay_seconds": 0, "voting_period_seconds": 3600,
            "quorum_fraction": D("0.04"), "timelock_seconds": 600, "grace_period_seconds": 3600,
        })  # fmt: skip
        _price_history(hours=48)
        _leveraged_book(symbol="BTC", count=60)
        fund = InsuranceFund.objects.create(name="Protocol fund")
        ledger_entry_record(fund=fund, kind=EntryKind.DEPOSIT, amount=D("2000000"), external_ref="seed-deposit",
                            note="initial capital", recorded_by="test",
                            occurred_at=timezone.now() - timedelta(days=3))  # fmt: skip
        token = client.contract("GovToken", outcome.deployment.gov_token)
        registry = client.contract("RiskParameterRegistry", outcome.deployment.registry)
        yield {"client": client, "summary": outcome.demo, "token": token, "registry": registry,
               "accounts": DemoAccounts.from_mnemonic(30)}  # fmt: skip
    finally:
        client.rpc("evm_revert", snapshot)
        governance_chain._client.cache_clear()


def _price_history(*, hours: int) -> None:
    """Hourly prices ending an hour before the chain's latest one (volatility input of the coverage model)."""
    rng = np.random.default_rng(3)
    rows = []
    for market in Market.objects.all():
        last = PriceObservation.objects.filter(market=market).order_by("-observed_at").first()
        if last is None:
            continue
        path = float(last.price) * np.exp(np.cumsum(rng.normal(0.0, 0.006, hours))[::-1])
        for hour, price in enumerate(path):
            at = last.observed_at - timedelta(hours=hour + 1)
            rows.append(PriceObservation(market=market, price=D(f"{price:.6f}"), observed_at=at, source="test"))
    PriceObservation.objects.bulk_create(rows)


def _leveraged_book(*, symbol: str, count: int) -> None:
    """Leveraged positions opened at the mark: a loosening of the margins certainly adds bad debt there."""
    rng = np.random.default_rng(5)
    market = Market.objects.get(symbol=symbol)
    mark = float(PriceObservation.objects.filter(market=market).latest("observed_at").price)
    accounts = Account.objects.bulk_create([Account(address=address_for(7000 + i)) for i in range(6)])
    rows = []
    for i in range(count):
        notional, leverage = float(rng.lognormal(np.log(50_000), 0.8)), float(rng.uniform(8, 19))
        side = 1 if i % 2 else -1
        rows.append(
            Position(
                external_id=f"budget-{i}", account=accounts[i % len(accounts)], market=market,
                size=D(f"{side * notional / mark:.8f}"), entry_price=D(f"{mark * rng.uniform(0.99, 1.01):.6f}"),
                collateral=D(f"{notional / leverage:.6f}"), opened_at=timezone.now() - timedelta(days=1),
            )
        )  # fmt: skip
    Position.objects.bulk_create(rows)


def _queued_past_timelock(env: dict[str, Any], title: str, changes: list[ChangeInput]) -> Proposal:
    """A proposal every self-delegated holder voted for, queued and past its timelock now."""
    token = env["token"]
    proposer = max(env["summary"]["self_delegated"], key=lambda a: token.functions.getVotes(a).call())
    proposal = proposal_create(proposer=proposer, title=title, description="Risk-budget check.", changes=changes)
    domain = BallotDomain(chain_id=31337, verifying_contract=proposal.verifying_contract)
    keys = {h.address: h.key for h in env["accounts"].holders}
    for voter in sorted(env["summary"]["self_delegated"]):
        nonce = Vote.objects.filter(voter=voter).count()
        ballot = Ballot(proposal_id=proposal.pk, support=1, voter=voter, nonce=nonce)
        vote_cast(ballot=SignedBallot(proposal.pk, 1, voter, nonce, sign_ballot(ballot, domain, keys[voter])))
    now = timezone.now()
    Proposal.objects.filter(pk=proposal.pk).update(
        state=ProposalState.QUEUED, queued_at=now - timedelta(seconds=700), voting_ends_at=now - timedelta(hours=2),
        voting_starts_at=now - timedelta(hours=3),
    )  # fmt: skip
    assert Vote.objects.filter(proposal=proposal).count() == len(env["summary"]["self_delegated"])
    return proposal


def _wait(predicate: Any, what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    pytest.fail(f"{what} did not happen within {timeout} s")


def test_budgeted_proposal_executes_on_anvil_after_the_worker_attests_and_an_over_budget_one_is_refused(
    deployed: dict[str, Any], client: Any
) -> None:
    env, registry = deployed, deployed["registry"]
    eth, btc = Market.objects.get(symbol="ETH"), Market.objects.get(symbol="BTC")
    small = {"confidence": D("0.95"), "paths": 100, "steps": 8, "horizon_days": D("1"), "max_age_minutes": 60}
    RiskBudget.objects.create(market=eth, max_exhaustion_increase=D("0.05"), max_es99_increase=D("1000000"), **small)
    RiskBudget.objects.create(market=btc, max_exhaustion_increase=D("0"), max_es99_increase=D("0"), **small)
    eth_before = MarginParameters.objects.current_for(eth)
    btc_before = MarginParameters.objects.current_for(btc)
    eth_id = market_id("ETH-USD")
    registry_before = registry.functions.versionOf(eth_id).call()

    tighten = _queued_past_timelock(env, "Tighten ETH", [ChangeInput("ETH", "mmr", eth_before.mmr + D("0.005"))])
    with pytest.raises(ExecutionFailed) as waiting:
        proposal_execute(proposal_id=tighten.pk)  # starts the attestation; nothing is pushed meanwhile
    assert waiting.value.code == "risk_budget"
    assert registry.functions.versionOf(eth_id).call() == registry_before
    request = ProposalChangeRequest.objects.get(proposal=tighten).change_request
    assert request.status == ChangeRequestStatus.AWAITING_ATTESTATION

    loosen = _queued_past_timelock(
        env, "Loosen BTC", [ChangeInput("BTC", "mmr", btc_before.mmr * D("0.5")),
                            ChangeInput("BTC", "imr", btc_before.imr * D("0.6"))],
    )  # fmt: skip
    with pytest.raises(ExecutionFailed):
        proposal_execute(proposal_id=loosen.pk)

    _wait(lambda: Proposal.objects.get(pk=tighten.pk).executed_at is not None, "the attested proposal's execution")
    _wait(lambda: not ParameterChangeRequest.objects.get(market=btc).is_open, "the over-budget refusal")

    # Within budget: the worker attested, sent the execution, and the registry on Anvil carries the change.
    executed = Proposal.objects.get(pk=tighten.pk)
    assert executed.state == ProposalState.EXECUTED and executed.execution_error == ""
    request.refresh_from_db()
    attestation = RiskAttestation.objects.get(change_request=request)
    assert attestation.status == AttestationStatus.WITHIN_BUDGET and request.status == ChangeRequestStatus.APPLIED
    runs = CoverageRun.objects.filter(pk__in=[attestation.coverage_current_id, attestation.coverage_proposed_id])
    assert {r.status for r in runs} == {RunStatus.SUCCEEDED} and runs.count() == 2
    assert all(w.startswith("testworker@") for r in runs for w in r.metrics["timings"]["workers"])
    assert float(attestation.exhaustion_upper) <= 0.05 and float(attestation.es99_upper) <= 1_000_000
    version = MarginParameters.objects.current_for(eth)
    assert (version.version, version.mmr, version.source, version.proposal_ref) == (
        eth_before.version + 1, eth_before.mmr + D("0.005"), ChangeSource.PROPOSAL, str(tighten.pk),
    )  # fmt: skip
    assert request.version == version
    assert request.attestation["inputs_sha256"] == attestation.inputs_sha256
    audit = AuditRecord.objects.get(action=AuditAction.PARAMETERS_CHANGED, subject_id=str(version.pk))
    assert audit.data["attestation"]["runs"] == {
        "current": attestation.coverage_current_id, "proposed": attestation.coverage_proposed_id,
    }  # fmt: skip
    assert registry.functions.versionOf(eth_id).call() == registry_before + 1
    assert from_fixed(registry.functions.getParameters(eth_id).call()[1]) == version.mmr
    execution = executed.executions.get()
    assert execution.parameters == version and execution.tx_hash.startswith("0x")
    page = client.get(reverse("governance:proposal-detail", args=[tighten.pk])).content.decode()
    assert "Risk budget" in page and attestation.inputs_sha256 in page and "Within budget" in page

    # Over budget: refused by the worker with the paired bounds; nothing written, the page says why.
    refused = ParameterChangeRequest.objects.get(market=btc)
    assert refused.status == ChangeRequestStatus.REFUSED
    assert refused.refusal.startswith("over its risk budget: ") and "above the budget of 0." in refused.refusal
    over = RiskAttestation.objects.get(change_request=refused)
    assert over.status == AttestationStatus.OVER_BUDGET and over.es99_delta > 0  # the loosening adds bad debt
    assert MarginParameters.objects.current_for(btc) == btc_before
    with pytest.raises(ExecutionFailed) as again:
        proposal_execute(proposal_id=loosen.pk)  # stays refused on the same evidence; no new attestation
    assert "refused by its risk budget" in str(again.value)
    assert ParameterChangeRequest.objects.filter(market=btc).count() == 1
    assert Proposal.objects.get(pk=loosen.pk).executed_at is None
    page = client.get(reverse("governance:proposal-detail", args=[loosen.pk])).content.decode()
    assert "Risk budget" in page and "Refused: over its risk budget" in page and "above the budget of 0." in page

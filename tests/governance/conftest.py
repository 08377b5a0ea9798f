"""Governance fixtures: a market with parameters, holders with keys, and a chain stand-in for unit tests.

The stand-in replaces only riskgov.governance.selectors.chain_reads (deployment, snapshot block, voting power);
the Anvil tests use the real chain layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from chain.eip712 import Ballot, BallotDomain, sign_ballot
from riskgov.governance.models import GovernanceSettings, Proposal
from riskgov.governance.selectors import chain_reads as governance_chain
from riskgov.governance.services.proposals import ChangeInput, proposal_create
from riskgov.markets.models import Market
from tests.factories import MarginParametersFactory, MarketFactory, PriceObservationFactory

REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
TOKEN = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
CHAIN_ID = 31337
WAD = 10**18
T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@dataclass
class FakeChain:
    block: int = 100
    supply: int = 1_000_000 * WAD
    powers: dict[str, int] = field(default_factory=dict)

    def power(self, address: str, block: int) -> int:
        return self.powers.get(address, 0)


@pytest.fixture
def chain(monkeypatch: pytest.MonkeyPatch) -> FakeChain:
    fake = FakeChain()
    monkeypatch.setattr(
        governance_chain,
        "governance_chain",
        lambda: governance_chain.GovernanceChain(chain_id=CHAIN_ID, registry=REGISTRY, gov_token=TOKEN),
    )
    monkeypatch.setattr(governance_chain, "latest_block", lambda: fake.block)
    monkeypatch.setattr(governance_chain, "voting_power_at", fake.power)
    monkeypatch.setattr(governance_chain, "snapshot_voting_power", fake.power)
    monkeypatch.setattr(
        governance_chain, "voting_powers_at", lambda addresses, block: {a: fake.power(a, block) for a in addresses}
    )
    monkeypatch.setattr(governance_chain, "total_supply_at", lambda block: fake.supply)
    monkeypatch.setattr(governance_chain, "ballot_web3", lambda: None)
    return fake


@pytest.fixture(scope="session")
def holders() -> list[LocalAccount]:
    return [Account.from_key(bytes([i + 1]) * 32) for i in range(6)]


@pytest.fixture
def market(db: None) -> Market:
    eth = MarketFactory(symbol="ETH", name="Ether")
    MarginParametersFactory(market=eth, imr=Decimal("0.05"), mmr=Decimal("0.03"), max_leverage=Decimal("20"),
                            liquidation_penalty=Decimal("0.01"))  # fmt: skip
    PriceObservationFactory(market=eth, price=Decimal("3000"), observed_at=datetime(2024, 1, 1, tzinfo=UTC))
    return Market.objects.get(pk=eth.pk)


@pytest.fixture
def gov_settings(db: None) -> GovernanceSettings:
    row, _ = GovernanceSettings.objects.get_or_create(pk=1)
    row.proposal_threshold = Decimal(1000 * WAD)
    row.voting_delay_seconds = 60
    row.voting_period_seconds = 3600
    row.quorum_fraction = Decimal("0.04")
    row.timelock_seconds = 600
    row.grace_period_seconds = 3600
    row.guardian_address = ""
    row.save()
    return row


def make_proposal(chain: FakeChain, proposer: LocalAccount, *, now: datetime = T0, mmr: str = "0.035") -> Proposal:
    chain.powers.setdefault(proposer.address, 50_000 * WAD)
    return proposal_create(
        proposer=proposer.address,
        title="Raise ETH maintenance margin",
        description="Volatility is up; **raise** the maintenance margin.",
        changes=[ChangeInput("ETH", "mmr", Decimal(mmr))],
        now=now,
    )


def signed(
    proposal_id: int, support: int, voter: LocalAccount, nonce: int = 0, *, chain_id: int = CHAIN_ID,
    contract: str = REGISTRY, key: LocalAccount | None = None, reason: str = "",
) -> dict[str, object]:  # fmt: skip
    """The vote API body of a ballot signed by `key` (default the voter); with a reason, an ExtendedBallot."""
    ballot = Ballot(proposal_id=proposal_id, support=support, voter=voter.address, nonce=nonce, reason=reason)
    signature = sign_ballot(ballot, BallotDomain(chain_id=chain_id, verifying_contract=contract), (key or voter).key)
    body: dict[str, object] = {"voter": voter.address, "support": support, "nonce": nonce, "signature": signature}
    return {**body, "reason": reason} if reason else body


ACTIVE_AT = T0 + timedelta(seconds=120)
AFTER_END = T0 + timedelta(seconds=60 + 3600 + 1)

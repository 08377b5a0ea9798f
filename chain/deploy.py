"""Deploy the protocol contracts and populate a demo chain.

``deploy_protocol`` is what ``manage.py chain_deploy`` records in the database; ``populate_demo``
fills a local Anvil node with token holders, delegations, prices and positions through the real
contracts, so the indexer path is what fills the demo. Both are plain functions over a
:class:`~chain.client.ChainClient`; amounts follow the fixed-point conventions in :mod:`chain`.

Command line (local node, dev keys): ``python -m chain.deploy --rpc-url http://127.0.0.1:8545 --demo``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypedDict

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from chain.anvil import DEV_CHAIN_ID, DEV_MNEMONIC
from chain.client import ChainClient, Sender, sender_address
from chain.units import FEED_DECIMALS, WAD, market_id, to_fixed

KEEPER_ROLE = Web3.keccak(text="KEEPER_ROLE")
TIMELOCK_PROPOSER_ROLE = Web3.keccak(text="PROPOSER_ROLE")
TIMELOCK_CANCELLER_ROLE = Web3.keccak(text="CANCELLER_ROLE")
TIMELOCK_ADMIN_ROLE = b"\x00" * 32  # DEFAULT_ADMIN_ROLE
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
GOVERNOR_NAME = "RiskGov"  # the Governor's EIP-712 domain name, the same name off-chain ballots use
QUORUM_DENOMINATOR = 10_000  # RiskGovernor.quorumDenominator(): 400 = 4 %
UINT32_MAX = 2**32 - 1
UINT48_MAX = 2**48 - 1


@dataclass(frozen=True)
class MarketSpec:
    """A market to list. Prices are quote per base; rates are fractions (0.05 = 5 %);
    ``max_leverage`` a multiple; ``oi_cap`` base units per side; ``max_price_age`` seconds."""

    symbol: str
    initial_price: Decimal
    imr: Decimal
    mmr: Decimal
    max_leverage: Decimal
    liquidation_penalty: Decimal
    insurance_fee_share: Decimal
    oi_cap: Decimal
    feed_decimals: int = FEED_DECIMALS
    max_price_age: int = 3600

    @property
    def description(self) -> str:
        base, _, quote = self.symbol.partition("-")
        return f"{base} / {quote}" if quote else self.symbol


DEFAULT_MARKETS: tuple[MarketSpec, ...] = (
    MarketSpec("ETH-USD", Decimal("3000"), Decimal("0.05"), Decimal("0.03"), Decimal("20"),
               Decimal("0.01"), Decimal("0.5"), Decimal("100000")),
    MarketSpec("BTC-USD", Decimal("60000"), Decimal("0.05"), Decimal("0.025"), Decimal("20"),
               Decimal("0.01"), Decimal("0.5"), Decimal("5000")),
    MarketSpec("SOL-USD", Decimal("150"), Decimal("0.1"), Decimal("0.05"), Decimal("10"),
               Decimal("0.02"), Decimal("0.5"), Decimal("2000000")),
)  # fmt: skip


class ProtocolAddresses(TypedDict):
    """Checksummed addresses of a deployment; ``deployment_block`` is where an indexer starts."""

    chain_id: int
    gov_token: str
    registry: str
    perp_market: str
    price_feeds: dict[str, str]
    deployment_block: int


def deploy_protocol(
    client: ChainClient,
    deployer: Sender,
    *,
    executor: str | None = None,
    keeper: str | None = None,
    markets: Sequence[MarketSpec] = DEFAULT_MARKETS,
) -> ProtocolAddresses:
    """Deploy GovToken, RiskParameterRegistry, PerpMarket and one PriceFeed per market.

    The deployer owns GovToken (mints for the demo) and administers PerpMarket and the feeds. It sets
    each market's genesis parameters and first price, then hands the registry to ``executor`` and
    the keeper role to ``keeper`` when those differ from the deployer.
    """
    owner = sender_address(deployer)
    deployment_block = client.block_number + 1
    token = client.deploy("GovToken", owner, sender=deployer)
    registry_address = client.deploy("RiskParameterRegistry", owner, sender=deployer)
    perp_address = client.deploy("PerpMarket", registry_address, owner, sender=deployer)
    registry = client.contract("RiskParameterRegistry", registry_address)
    perp = client.contract("PerpMarket", perp_address)

    feeds: dict[str, str] = {}
    for spec in markets:
        feed_address = client.deploy("PriceFeed", spec.feed_decimals, spec.description, owner, owner, sender=deployer)
        feed = client.contract("PriceFeed", feed_address)
        client.transact(feed.functions.updateAnswer(to_fixed(spec.initial_price, spec.feed_decimals)), sender=deployer)
        client.transact(
            registry.functions.setParameters(
                market_id(spec.symbol),
                to_fixed(spec.imr),
                to_fixed(spec.mmr),
                to_fixed(spec.max_leverage),
                to_fixed(spec.liquidation_penalty),
                to_fixed(spec.insurance_fee_share),
                to_fixed(spec.oi_cap),
            ),
            sender=deployer,
        )
        client.transact(
            perp.functions.listMarket(market_id(spec.symbol), feed_address, spec.max_price_age),
            sender=deployer,
        )
        if keeper is not None and Web3.to_checksum_address(keeper) != owner:
            client.transact(feed.functions.grantRole(KEEPER_ROLE, Web3.to_checksum_address(keeper)), sender=deployer)
            client.transact(feed.functions.renounceRole(KEEPER_ROLE, owner), sender=deployer)
        feeds[spec.symbol] = feed_address

    if executor is not None and Web3.to_checksum_address(executor) != owner:
        client.transact(registry.functions.transferOwnership(Web3.to_checksum_address(executor)), sender=deployer)

    return ProtocolAddresses(
        chain_id=client.chain_id,
        gov_token=token,
        registry=registry_address,
        perp_market=perp_address,
        price_feeds=feeds,
        deployment_block=deployment_block,
    )


# --------------------------------------------------------------------------- on-chain governance


@dataclass(frozen=True)
class GovernorSpec:
    """RiskGovernor and timelock settings. The Governor's clock is the GovToken's: block numbers.

    ``proposal_threshold`` is token wei; ``quorum_numerator`` is out of 10000 (400 = 4 % of the supply at the
    snapshot, For + Abstain); ``guardian`` may cancel a proposal at any stage before execution ("" for none).
    """

    voting_delay_blocks: int = 5
    voting_period_blocks: int = 21_600  # three days of 12-second blocks
    proposal_threshold: int = 1000 * WAD
    quorum_numerator: int = 400
    late_quorum_extension_blocks: int = 7_200  # one day of 12-second blocks
    timelock_delay_seconds: int = 2 * 24 * 3600
    guardian: str = ""

    def __post_init__(self) -> None:
        checks = (
            ("voting_delay_blocks", self.voting_delay_blocks, 0, UINT48_MAX),
            ("voting_period_blocks", self.voting_period_blocks, 1, UINT32_MAX),
            ("proposal_threshold", self.proposal_threshold, 0, 2**256 - 1),
            ("quorum_numerator", self.quorum_numerator, 0, QUORUM_DENOMINATOR),
            ("late_quorum_extension_blocks", self.late_quorum_extension_blocks, 0, UINT48_MAX),
            ("timelock_delay_seconds", self.timelock_delay_seconds, 0, 2**256 - 1),
        )
        for name, value, low, high in checks:
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise ValueError(f"{name} must be an integer from {low} to {high}, got {value!r}")
        if self.guardian and not Web3.is_address(self.guardian):
            raise ValueError(f"guardian is not an address: {self.guardian!r}")

    @classmethod
    def from_seconds(
        cls,
        *,
        voting_delay_seconds: int,
        voting_period_seconds: int,
        proposal_threshold: int,
        quorum_fraction: Decimal,
        vote_extension_seconds: int,
        timelock_seconds: int,
        guardian: str = "",
        seconds_per_block: int = 12,
    ) -> GovernorSpec:
        """The spec mirroring the app's governance settings: seconds become blocks of ``seconds_per_block``
        (rounded up; voting lasts at least one block), the quorum fraction (0.04) a numerator of 10000."""
        if seconds_per_block < 1:
            raise ValueError(f"seconds_per_block must be at least 1, got {seconds_per_block}")
        numerator = Decimal(quorum_fraction) * QUORUM_DENOMINATOR
        if numerator != numerator.to_integral_value():
            raise ValueError(f"quorum_fraction {quorum_fraction} is finer than 1/{QUORUM_DENOMINATOR}")
        return cls(
            voting_delay_blocks=math.ceil(voting_delay_seconds / seconds_per_block),
            voting_period_blocks=max(1, math.ceil(voting_period_seconds / seconds_per_block)),
            proposal_threshold=int(proposal_threshold),
            quorum_numerator=int(numerator),
            late_quorum_extension_blocks=math.ceil(vote_extension_seconds / seconds_per_block),
            timelock_delay_seconds=int(timelock_seconds),
            guardian=guardian,
        )

    def as_dict(self) -> dict[str, object]:
        """JSON-safe (the threshold as a decimal string: wei do not fit JSON numbers)."""
        return {
            "voting_delay_blocks": self.voting_delay_blocks,
            "voting_period_blocks": self.voting_period_blocks,
            "proposal_threshold": str(self.proposal_threshold),
            "quorum_numerator": self.quorum_numerator,
            "late_quorum_extension_blocks": self.late_quorum_extension_blocks,
            "timelock_delay_seconds": self.timelock_delay_seconds,
            "guardian": self.guardian,
        }


class GovernanceAddresses(TypedDict):
    """Checksummed RiskGovernor and RiskTimelock addresses; ``governance_block`` is where they start."""

    governor: str
    timelock: str
    governance_block: int


def deploy_governance(
    client: ChainClient, deployer: Sender, *, token: str, registry: str, spec: GovernorSpec
) -> GovernanceAddresses:
    """Deploy RiskTimelock and RiskGovernor, and hand the registry to the timelock.

    The governor becomes the timelock's only proposer and canceller, anyone may execute a ready operation,
    and the deployer renounces the timelock's admin role, so the timelock administers itself. The deployer
    must own the registry; afterwards no account but the timelock can call ``setParameters``.
    """
    owner = sender_address(deployer)
    registry_contract = client.contract("RiskParameterRegistry", registry)
    current_owner = client.call(registry_contract.functions.owner())
    if Web3.to_checksum_address(current_owner) != owner:
        raise ValueError(f"registry: owned by {current_owner}, not by the deployer {owner}")
    governance_block = client.block_number + 1
    timelock_address = client.deploy("RiskTimelock", spec.timelock_delay_seconds, [], [ZERO_ADDRESS], owner,
                                     sender=deployer)  # fmt: skip
    config = (
        spec.voting_delay_blocks,
        spec.voting_period_blocks,
        spec.proposal_threshold,
        spec.quorum_numerator,
        spec.late_quorum_extension_blocks,
        Web3.to_checksum_address(spec.guardian) if spec.guardian else ZERO_ADDRESS,
    )
    governor_address = client.deploy(
        "RiskGovernor", GOVERNOR_NAME, Web3.to_checksum_address(token), timelock_address, config, sender=deployer
    )
    timelock = client.contract("RiskTimelock", timelock_address)
    client.transact(timelock.functions.grantRole(TIMELOCK_PROPOSER_ROLE, governor_address), sender=deployer)
    client.transact(timelock.functions.grantRole(TIMELOCK_CANCELLER_ROLE, governor_address), sender=deployer)
    client.transact(timelock.functions.renounceRole(TIMELOCK_ADMIN_ROLE, owner), sender=deployer)
    client.transact(registry_contract.functions.transferOwnership(timelock_address), sender=deployer)
    return GovernanceAddresses(governor=governor_address, timelock=timelock_address, governance_block=governance_block)


# --------------------------------------------------------------------------- demo


def dev_accounts(count: int, *, mnemonic: str = DEV_MNEMONIC, start: int = 0) -> list[LocalAccount]:
    """Accounts ``m/44'/60'/0'/0/i`` for ``i`` in ``[start, start + count)`` — Anvil's dev accounts."""
    Account.enable_unaudited_hdwallet_features()
    return [
        Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{index}") for index in range(start, start + count)
    ]


@dataclass(frozen=True)
class DemoAccounts:
    """Dev account 0 deploys and executes, 1 is the price keeper, 2.. are token holders."""

    deployer: LocalAccount
    keeper: LocalAccount
    holders: list[LocalAccount]

    @classmethod
    def from_mnemonic(cls, holder_count: int = 30, mnemonic: str = DEV_MNEMONIC) -> DemoAccounts:
        accounts = dev_accounts(holder_count + 2, mnemonic=mnemonic)
        return cls(deployer=accounts[0], keeper=accounts[1], holders=accounts[2:])


class DemoSummary(TypedDict):
    """What ``populate_demo`` did; addresses checksummed, position ids as in PerpMarket."""

    holders: list[str]
    self_delegated: list[str]
    delegated_to_others: dict[str, str]
    undelegated: list[str]
    open_position_ids: list[int]
    closed_position_ids: list[int]
    liquidated_position_ids: list[int]
    price_updates: int
    first_block: int
    last_block: int


@dataclass
class _DemoState:
    open_ids: list[int] = field(default_factory=list)
    closed_ids: list[int] = field(default_factory=list)
    liquidated_ids: list[int] = field(default_factory=list)
    price_updates: int = 0


def ensure_funded(client: ChainClient, addresses: Sequence[str], *, minimum_wei: int = 10**20) -> None:
    """Top up accounts below ``minimum_wei`` with ``anvil_setBalance`` (Anvil only)."""
    for address in addresses:
        if client.w3.eth.get_balance(Web3.to_checksum_address(address)) < minimum_wei:
            client.rpc("anvil_setBalance", Web3.to_checksum_address(address), hex(10**22))


MIN_DEMO_HOLDERS = 4  # the demo needs a few traders and one holder to be liquidated
SELF_DELEGATING_SHARE = 0.6  # of holders; DELEGATING_SHARE more delegate to a large self-delegated holder
DELEGATING_SHARE = 0.25
# Follow-ups of the opened positions, as bands of one uniform roll each: below TOP_UP_BELOW a top-up of a
# quarter of the collateral, then growing by a fifth, halving, closing; at or above CLOSE_BELOW it stays as opened.
TOP_UP_BELOW = 0.2
GROW_BELOW = 0.35
HALVE_BELOW = 0.45
CLOSE_BELOW = 0.55
_POSITION_SIZE = 2  # fields of PerpMarket.getPosition
_POSITION_COLLATERAL = 4


@dataclass(frozen=True)
class _Delegation:
    self_group: list[LocalAccount]
    idle_group: list[LocalAccount]
    delegated_to_others: dict[str, str]


def populate_demo(
    client: ChainClient,
    addresses: ProtocolAddresses,
    *,
    minter: Sender,
    keeper: Sender,
    holders: Sequence[LocalAccount],
    markets: Sequence[MarketSpec] = DEFAULT_MARKETS,
    seed: int = 2024,
    price_rounds: int = 4,
) -> DemoSummary:
    """Mint governance tokens to ``holders``, delegate, move prices and trade, all deterministically.

    About 60 % of holders self-delegate, 25 % delegate to one of the largest self-delegated holders
    and the rest leave their tokens undelegated (no voting power until they delegate). Positions
    are opened at 1.5x..0.6 x max leverage, some are topped up, resized or closed, and one
    deliberately over-levered position is liquidated after a price drop (the price then recovers).
    """
    if len(holders) < MIN_DEMO_HOLDERS:
        raise ValueError(f"populate_demo needs at least {MIN_DEMO_HOLDERS} holders")
    rng = random.Random(seed)  # noqa: S311 - seeded demo data, not security
    first_block = client.block_number + 1
    ensure_funded(client, [holder.address for holder in holders])
    token = client.contract("GovToken", addresses["gov_token"])
    perp = client.contract("PerpMarket", addresses["perp_market"])
    feeds = {symbol: client.contract("PriceFeed", address) for symbol, address in addresses["price_feeds"].items()}
    specs = {spec.symbol: spec for spec in markets if spec.symbol in feeds}
    state = _DemoState()

    delegation = _demo_tokens(client, token, holders, minter=minter, rng=rng)
    # Prices: a short random walk per market (±1 % per round) published by the keeper.
    for _ in range(price_rounds):
        for symbol, spec in specs.items():
            _move_price(
                client,
                feeds[symbol],
                spec,
                factor=Decimal(str(round(rng.uniform(0.99, 1.01), 6))),
                keeper=keeper,
            )
            state.price_updates += 1
    traders = list(holders[: max(MIN_DEMO_HOLDERS, (len(holders) * 2) // 3)])
    _demo_trades(client, perp, specs, traders, rng=rng, state=state)
    _demo_liquidation(client, perp, feeds, specs, liquidator=keeper, trader=holders[-1], keeper=keeper, state=state)

    return DemoSummary(
        holders=[holder.address for holder in holders],
        self_delegated=[holder.address for holder in delegation.self_group],
        delegated_to_others=delegation.delegated_to_others,
        undelegated=[holder.address for holder in delegation.idle_group],
        open_position_ids=sorted(state.open_ids),
        closed_position_ids=sorted(state.closed_ids),
        liquidated_position_ids=state.liquidated_ids,
        price_updates=state.price_updates,
        first_block=first_block,
        last_block=client.block_number,
    )


def _demo_tokens(
    client: ChainClient, token: Contract, holders: Sequence[LocalAccount], *, minter: Sender, rng: random.Random
) -> _Delegation:
    """Mint a long-tailed distribution of whole tokens (1e18 each) to ``holders``, then delegate."""
    balances = {h.address: int(max(100.0, rng.lognormvariate(10.0, 1.2))) * WAD for h in holders}
    for holder in holders:
        client.transact(token.functions.mint(holder.address, balances[holder.address]), sender=minter)

    order = list(holders)
    rng.shuffle(order)
    n_self = round(len(order) * SELF_DELEGATING_SHARE)
    n_other = round(len(order) * DELEGATING_SHARE)
    self_group, other_group, idle_group = (
        order[:n_self],
        order[n_self : n_self + n_other],
        order[n_self + n_other :],
    )
    for holder in self_group:
        client.transact(token.functions.delegate(holder.address), sender=holder)
    delegates = sorted(self_group, key=lambda h: balances[h.address], reverse=True)[:3]
    delegated_to_others: dict[str, str] = {}
    for holder in other_group:
        delegate = rng.choice(delegates)
        client.transact(token.functions.delegate(delegate.address), sender=holder)
        delegated_to_others[holder.address] = delegate.address
    return _Delegation(self_group=self_group, idle_group=idle_group, delegated_to_others=delegated_to_others)


def _demo_trades(
    client: ChainClient,
    perp: Contract,
    specs: dict[str, MarketSpec],
    traders: list[LocalAccount],
    *,
    rng: random.Random,
    state: _DemoState,
) -> None:
    """Open one or two positions per trader, then top up, resize or close some of them."""
    for trader in traders:
        for _ in range(rng.choice((1, 1, 2))):
            spec = specs[rng.choice(sorted(specs))]
            leverage = Decimal(str(round(rng.uniform(1.5, float(spec.max_leverage) * 0.6), 3)))
            notional = Decimal(rng.randrange(1_000, 200_000))
            side = rng.choice((1, -1))
            position_id = _open(client, perp, spec, trader, notional=notional, leverage=leverage, side=side)
            state.open_ids.append(position_id)

    for position_id in list(state.open_ids):
        owner = _owner_of(perp, position_id, traders)
        roll = rng.random()
        if roll < TOP_UP_BELOW:
            collateral = perp.functions.getPosition(position_id).call()[_POSITION_COLLATERAL]
            client.transact(perp.functions.addCollateral(position_id, collateral // 4), sender=owner)
        elif roll < GROW_BELOW:
            size = perp.functions.getPosition(position_id).call()[_POSITION_SIZE]
            client.transact(perp.functions.resizePosition(position_id, size // 5), sender=owner)
        elif roll < HALVE_BELOW:
            size = perp.functions.getPosition(position_id).call()[_POSITION_SIZE]
            client.transact(perp.functions.resizePosition(position_id, -(size // 2)), sender=owner)
        elif roll < CLOSE_BELOW:
            client.transact(perp.functions.closePosition(position_id), sender=owner)
            state.open_ids.remove(position_id)
            state.closed_ids.append(position_id)


def _move_price(client: ChainClient, feed: Contract, spec: MarketSpec, *, factor: Decimal, keeper: Sender) -> int:
    """Publish ``latest answer * factor``; returns the new answer (feed decimals)."""
    latest = feed.functions.latestRoundData().call()[1]
    answer = max(1, int(Decimal(latest) * factor))
    client.transact(feed.functions.updateAnswer(answer), sender=keeper)
    return answer


def _open(
    client: ChainClient,
    perp: Contract,
    spec: MarketSpec,
    trader: LocalAccount,
    *,
    notional: Decimal,
    leverage: Decimal,
    side: int,
) -> int:
    """Open ``side`` (+1 long / -1 short) with ``notional`` quote units at ``leverage``; returns the id."""
    price = perp.functions.markPrice(market_id(spec.symbol)).call()  # 1e18 quote per base
    size = side * (to_fixed(notional) * WAD // price)
    collateral = to_fixed(notional / leverage)
    receipt = client.transact(perp.functions.openPosition(market_id(spec.symbol), size, collateral), sender=trader)
    event = perp.events.PositionOpened().process_receipt(receipt, errors=DISCARD)[0]
    return int(event["args"]["positionId"])


def _owner_of(perp: Contract, position_id: int, accounts: Sequence[LocalAccount]) -> LocalAccount:
    account = perp.functions.getPosition(position_id).call()[0]
    return next(candidate for candidate in accounts if candidate.address == account)


def _demo_liquidation(
    client: ChainClient,
    perp: Contract,
    feeds: dict[str, Contract],
    specs: dict[str, MarketSpec],
    *,
    liquidator: Sender,
    trader: LocalAccount,
    keeper: Sender,
    state: _DemoState,
) -> None:
    """Open a long at 95 % of max leverage, drop the price 8 % to breach maintenance, liquidate, recover."""
    spec = max(specs.values(), key=lambda s: s.imr)  # the most conservative market still breaks at 8 %
    leverage = spec.max_leverage * Decimal("0.95")
    position_id = _open(client, perp, spec, trader, notional=Decimal(20_000), leverage=leverage, side=1)
    before = feeds[spec.symbol].functions.latestRoundData().call()[1]
    _move_price(client, feeds[spec.symbol], spec, factor=Decimal("0.92"), keeper=keeper)
    client.transact(perp.functions.liquidate(position_id), sender=liquidator)
    client.transact(feeds[spec.symbol].functions.updateAnswer(before), sender=keeper)
    state.price_updates += 2
    state.liquidated_ids.append(position_id)


def main(argv: Sequence[str] | None = None) -> int:
    """Deploy to a node using Anvil's dev accounts and print the addresses (and demo summary) as JSON."""
    parser = argparse.ArgumentParser(description="Deploy RiskGov contracts with Anvil dev accounts.")
    parser.add_argument("--rpc-url", default="http://127.0.0.1:8545")
    parser.add_argument("--chain-id", type=int, default=DEV_CHAIN_ID)
    parser.add_argument("--demo", action="store_true", help="also mint, delegate, price and trade")
    parser.add_argument("--holders", type=int, default=30)
    parser.add_argument(
        "--governance", choices=["offchain", "onchain"], default="offchain",
        help="onchain: also deploy a RiskGovernor and timelock (default settings) and hand the registry over",
    )  # fmt: skip
    options = parser.parse_args(argv)
    client = ChainClient.connect(options.rpc_url, chain_id=options.chain_id)
    accounts = DemoAccounts.from_mnemonic(options.holders)
    ensure_funded(client, [accounts.deployer.address, accounts.keeper.address])
    addresses = deploy_protocol(client, accounts.deployer, keeper=accounts.keeper.address)
    output: dict[str, object] = {"addresses": addresses}
    if options.governance == "onchain":
        output["governance"] = deploy_governance(
            client, accounts.deployer, token=addresses["gov_token"], registry=addresses["registry"], spec=GovernorSpec()
        )
    if options.demo:
        output["demo"] = populate_demo(
            client, addresses, minter=accounts.deployer, keeper=accounts.keeper, holders=accounts.holders
        )
    json.dump(output, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Recording a protocol deployment, and deploying when the chain does not have one (``chain_deploy``)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from chain.client import ChainClient
from chain.conf import demo_mode, executor_account
from chain.deploy import (
    DEFAULT_MARKETS,
    DemoAccounts,
    DemoSummary,
    GovernanceAddresses,
    GovernorSpec,
    MarketSpec,
    ProtocolAddresses,
    deploy_governance,
    deploy_protocol,
    ensure_funded,
    populate_demo,
)
from chain.errors import ChainError
from chain.models import ChainDeployment, ContractRole, GovernanceMode, IndexerCheckpoint
from chain.selectors.deployments import active_deployment
from chain.services.indexer import CheckpointRun, IndexerConfig, deployment_index
from chain.services.projections import PER_LOG_MODELS
from chain.services.references import markets_ensure
from chain.units import oi_cap_base_units
from riskgov.markets.models import MarginParameters, Position, PriceObservation

logger = logging.getLogger(__name__)


class DeploymentError(ChainError):
    """The chain cannot be deployed to as configured (e.g. a demo on a non-Anvil chain)."""


# The app's governance settings live above the chain layer; it registers how to read them as a GovernorSpec
# (riskgov.governance's AppConfig.ready), so chain_deploy mirrors them without importing governance.
_governor_spec_provider: Callable[[], GovernorSpec] | None = None


def governor_spec_provider_set(provider: Callable[[], GovernorSpec] | None) -> None:
    """Register the function that turns the app's governance settings into a :class:`GovernorSpec`."""
    global _governor_spec_provider  # noqa: PLW0603 - one registration at start-up
    _governor_spec_provider = provider


def seconds_per_block() -> int:
    return int(getattr(settings, "CHAIN_SECONDS_PER_BLOCK", 12))


def governor_spec() -> GovernorSpec:
    """The Governor settings to deploy: the registered provider's, else the app's defaults in blocks
    (60 s delay, 3 days voting, 1000 tokens threshold, 4 % quorum, 2 days timelock) with the configured
    late-quorum extension."""
    if _governor_spec_provider is not None:
        return _governor_spec_provider()
    return GovernorSpec.from_seconds(
        voting_delay_seconds=60,
        voting_period_seconds=3 * 24 * 3600,
        proposal_threshold=1000 * 10**18,
        quorum_fraction=Decimal("0.04"),
        vote_extension_seconds=int(getattr(settings, "RISKGOV_GOVERNANCE_VOTE_EXTENSION_SECONDS", 24 * 3600)),
        timelock_seconds=2 * 24 * 3600,
        seconds_per_block=seconds_per_block(),
    )


def governance_mode_setting() -> str:
    """``RISKGOV_GOVERNANCE_MODE``: "offchain" (default) or "onchain"."""
    mode = str(getattr(settings, "RISKGOV_GOVERNANCE_MODE", GovernanceMode.OFFCHAIN))
    if mode not in GovernanceMode.values:
        raise DeploymentError(
            f"RISKGOV_GOVERNANCE_MODE must be one of {', '.join(GovernanceMode.values)}, not {mode!r}"
        )
    return mode


def genesis_hash(client: ChainClient) -> str:
    block = client.rpc("eth_getBlockByNumber", "0x0", False)
    if block is None:
        raise ChainError("the node has no genesis block")
    return str(block["hash"])


def deployment_is_live(client: ChainClient, deployment: ChainDeployment) -> bool:
    """Whether the node is the chain ``deployment`` was made on: same genesis, code at every address."""
    if deployment.genesis_hash != genesis_hash(client):
        return False
    addresses = [address for _role, address, _symbol in deployment.contract_addresses()]
    return all(client.rpc("eth_getCode", address, "latest") not in (None, "0x", "") for address in addresses)


def deployment_record(
    *,
    addresses: ProtocolAddresses,
    genesis: str,
    feed_decimals: dict[str, int],
    start_hash: str,
    governance: GovernanceAddresses | None = None,
    spec: GovernorSpec | None = None,
) -> ChainDeployment:
    """Store ``addresses`` as the active deployment of their chain, with one checkpoint per contract.

    With ``governance`` (on-chain mode) the Governor and timelock are recorded and indexed too, with the
    ``spec`` they were deployed with.

    Previous deployments of the chain id are deleted along with everything indexed from them,
    including the riskgov positions and prices they produced: their chain no longer exists.
    Checkpoints start at the block before the deployment (``start_hash`` is that block's hash).
    Markets are created or linked by symbol ("ETH-USD" ↔ ETH quoted in USD).
    """
    chain_id = addresses["chain_id"]
    with transaction.atomic():
        stale = ChainDeployment.objects.filter(chain_id=chain_id)
        if stale.exists():
            chain_rows_purge(chain_id=chain_id, symbols=_symbols_of(stale))
            stale.delete()
        deployment = ChainDeployment.objects.create(
            chain_id=chain_id,
            genesis_hash=genesis,
            gov_token=addresses["gov_token"],
            registry=addresses["registry"],
            perp_market=addresses["perp_market"],
            price_feeds=dict(addresses["price_feeds"]),
            feed_decimals=feed_decimals,
            deployment_block=addresses["deployment_block"],
            governance_mode=GovernanceMode.ONCHAIN if governance else GovernanceMode.OFFCHAIN,
            governor=governance["governor"] if governance else "",
            timelock=governance["timelock"] if governance else "",
            governor_config=spec.as_dict() if spec is not None and governance else {},
            is_active=True,
        )
        start = addresses["deployment_block"] - 1
        IndexerCheckpoint.objects.bulk_create(
            [
                IndexerCheckpoint(
                    deployment=deployment,
                    role=role,
                    address=address,
                    market_symbol=symbol,
                    block_number=start,
                    block_hash=start_hash,
                )
                for role, address, symbol in deployment.contract_addresses()
            ]
        )
        markets_ensure(addresses["price_feeds"].keys())
        if governance:
            index_schedule_ensure([ContractRole.GOVERNOR, ContractRole.TIMELOCK])
    return deployment


INDEX_EVERY_SECONDS = 15


def index_schedule_ensure(roles: Sequence[str]) -> list[str]:
    """Beat entries that index each of `roles` every 15 s, like the token's, registry's, market's and feeds' of
    migration 0002: on-chain mode adds the Governor's and the timelock's, so votes, queue, execution and cancels
    reach the database without a page asking. Returns the names of the entries it created."""
    every, _ = IntervalSchedule.objects.get_or_create(every=INDEX_EVERY_SECONDS, period=IntervalSchedule.SECONDS)
    created = []
    for role in roles:
        _, new = PeriodicTask.objects.get_or_create(
            name=f"Index chain: {role}",
            defaults={
                "task": "chain.index_contract", "kwargs": json.dumps({"role": str(role)}), "interval": every,
                "enabled": True, "expire_seconds": 2 * INDEX_EVERY_SECONDS,
                "description": f"Read new {role} logs from the chain into the database (safe to overlap).",
            },
        )  # fmt: skip
        if new:
            created.append(f"Index chain: {role}")
    return created


def _symbols_of(deployments: object) -> set[str]:
    return {symbol for deployment in deployments for symbol in deployment.price_feeds}  # type: ignore[attr-defined]


def chain_rows_purge(*, chain_id: int, symbols: set[str]) -> None:
    """Delete the riskgov rows the indexer wrote for ``chain_id`` (positions ``chain:<id>:…``, feed prices)."""
    Position.objects.filter(external_id__startswith=f"chain:{chain_id}:").delete()
    if symbols:
        sources = Q()
        for symbol in symbols:
            sources |= Q(source=f"chain:{symbol}")
        PriceObservation.objects.filter(sources).delete()


@dataclass
class DeployOutcome:
    deployment: ChainDeployment
    deployed: bool
    demo: DemoSummary | None
    index_runs: list[CheckpointRun]

    @property
    def index_errors(self) -> list[str]:
        return [f"{run.label}: {run.error}" for run in self.index_runs if run.error]


def protocol_deploy(
    *,
    client: ChainClient,
    demo: bool = False,
    config: IndexerConfig | None = None,
    governance_mode: str | None = None,
    spec: GovernorSpec | None = None,
) -> DeployOutcome:
    """Make sure the protocol is deployed on ``client``'s chain and indexed into the database.

    Idempotent: an active deployment whose genesis hash matches, whose contracts have code and whose
    governance mode is the one asked for is kept as is. Otherwise (a fresh node, a reset one, another mode)
    the contracts are deployed from the executor account, recorded (checkpoints reset), and with ``demo``
    populated with holders, delegations, prices and positions using Anvil's dev accounts. In on-chain mode
    (``governance_mode``, default ``RISKGOV_GOVERNANCE_MODE``) a RiskGovernor and timelock follow, with
    ``spec`` (default :func:`governor_spec`); the timelock takes the registry over and, after the demo's
    mints, the token's ownership: the executor account then can neither change parameters nor mint votes.
    Then one indexing pass brings the database up to the chain head.
    """
    mode = governance_mode or governance_mode_setting()
    if mode not in GovernanceMode.values:
        raise DeploymentError(f"governance mode must be one of {', '.join(GovernanceMode.values)}, not {mode!r}")
    existing = active_deployment(chain_id=client.chain_id)
    summary: DemoSummary | None = None
    if existing is not None and existing.governance_mode == mode and deployment_is_live(client, existing):
        deployment, deployed = existing, False
    else:
        if demo and not demo_mode():
            raise DeploymentError("--demo uses Anvil's dev keys and needs RISKGOV_DEMO_MODE=1")
        executor = executor_account()
        demo_accounts = DemoAccounts.from_mnemonic() if demo else None
        keeper = demo_accounts.keeper.address if demo_accounts else None
        if demo_accounts is not None:
            ensure_funded(client, [executor.address, demo_accounts.keeper.address])
        markets = market_specs()
        addresses = deploy_protocol(client, executor, executor=executor.address, keeper=keeper, markets=markets)
        governance: GovernanceAddresses | None = None
        if mode == GovernanceMode.ONCHAIN:
            spec = spec or governor_spec()
            governance = deploy_governance(
                client, executor, token=addresses["gov_token"], registry=addresses["registry"], spec=spec
            )
        deployment = deployment_record(
            addresses=addresses,
            genesis=genesis_hash(client),
            feed_decimals=_feed_decimals(client, addresses),
            start_hash=str(client.rpc("eth_getBlockByNumber", hex(addresses["deployment_block"] - 1), False)["hash"]),
            governance=governance,
            spec=spec,
        )
        deployed = True
        logger.info(
            "deployed the protocol on chain %d at block %d (%s governance)",
            client.chain_id,
            addresses["deployment_block"],
            mode,
        )
        if demo_accounts is not None:
            summary = populate_demo(
                client,
                addresses,
                minter=executor,
                keeper=demo_accounts.keeper,
                holders=demo_accounts.holders,
                markets=markets,
            )
        if governance is not None:
            # Minting is the token owner's: in on-chain mode it passes to the timelock too (after the demo's
            # mints), so the executor key can neither change parameters nor mint itself votes.
            token = client.contract("GovToken", addresses["gov_token"])
            client.transact(token.functions.transferOwnership(governance["timelock"]), sender=executor)
    runs = deployment_index(deployment=deployment, client=client, config=config)
    return DeployOutcome(deployment=deployment, deployed=deployed, demo=summary, index_runs=runs)


def deployment_reindex(
    *, deployment: ChainDeployment, client: ChainClient, config: IndexerConfig | None = None
) -> list[CheckpointRun]:
    """Forget everything indexed from ``deployment`` and read its chain again from the deployment block.

    For when riskgov rows the indexer wrote were removed by hand (e.g. ``seed_demo --reset`` deletes the
    demo markets with their positions and prices): checkpoints past those events would never restore them.
    """
    start = deployment.deployment_block - 1
    block = client.rpc("eth_getBlockByNumber", hex(start), False)
    if block is None:
        raise ChainError(f"block {start} is missing: the chain was reset; run chain_deploy")
    with transaction.atomic():
        checkpoints = IndexerCheckpoint.objects.select_for_update().filter(deployment=deployment)
        list(checkpoints)  # lock them all before deleting what they wrote
        for model in PER_LOG_MODELS:
            model.objects.filter(checkpoint__deployment=deployment).delete()
        chain_rows_purge(chain_id=deployment.chain_id, symbols=set(deployment.price_feeds))
        checkpoints.update(
            block_number=start, block_hash=block["hash"], events_indexed=0, last_error="", last_error_at=None
        )
    return deployment_index(deployment=deployment, client=client, config=config)


def market_specs(base: Sequence[MarketSpec] = DEFAULT_MARKETS) -> list[MarketSpec]:
    """The markets to list, continuing what the database already knows about them.

    For a market that exists with a price and margin parameters in force, the feed starts at its
    latest price and the registry at its current parameters, so the chain picks up where the stored
    history ends. The registry's OI cap is base units per side: ``MarginParameters.oi_cap`` (quote
    notional) divided by that price. Other markets keep the defaults of :data:`DEFAULT_MARKETS`.
    """
    markets = markets_ensure(spec.symbol for spec in base)
    specs = []
    for spec in base:
        market = markets[spec.symbol]
        price = (
            PriceObservation.objects.filter(market=market)
            .order_by("-observed_at")
            .values_list("price", flat=True)
            .first()
        )
        try:
            params = MarginParameters.objects.current_for(market)
        except MarginParameters.DoesNotExist:
            params = None
        if price is None or params is None or params.oi_cap is None or price <= 0:
            specs.append(spec)
            continue
        specs.append(
            replace(
                spec,
                initial_price=price,
                imr=params.imr,
                mmr=params.mmr,
                max_leverage=params.max_leverage,
                liquidation_penalty=params.liquidation_penalty,
                insurance_fee_share=params.insurance_fee_share,
                oi_cap=oi_cap_base_units(params.oi_cap, price),
            )
        )
    return specs


def _feed_decimals(client: ChainClient, addresses: ProtocolAddresses) -> dict[str, int]:
    return {
        symbol: int(client.call(client.contract("PriceFeed", address).functions.decimals()))
        for symbol, address in addresses["price_feeds"].items()
    }

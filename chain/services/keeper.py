"""Demo price keeper: small random moves on every feed so PerpMarket prices never go stale.

PerpMarket refuses prices older than a market's ``maxPriceAge`` (an hour in the demo); a local node
has no real keeper, so ``chain_keeper`` publishes a ±0.5 % step per feed every minute from Anvil's
keeper dev account. Demo mode only.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from chain.client import ChainClient
from chain.conf import demo_mode
from chain.deploy import DemoAccounts
from chain.models import ChainDeployment
from chain.services.deployments import DeploymentError


@dataclass(frozen=True)
class PricePush:
    symbol: str
    previous: int
    answer: int  # feed decimals


def demo_prices_push(
    *, client: ChainClient, deployment: ChainDeployment, rng: random.Random, max_step: Decimal = Decimal("0.005")
) -> list[PricePush]:
    """Publish one new answer per feed: the latest times a uniform factor in [1 − max_step, 1 + max_step]."""
    if not demo_mode():
        raise DeploymentError("the demo price keeper signs with Anvil's dev keys and needs RISKGOV_DEMO_MODE=1")
    keeper = DemoAccounts.from_mnemonic(0).keeper
    pushes = []
    for symbol, address in sorted(deployment.price_feeds.items()):
        feed = client.contract("PriceFeed", address)
        latest = int(client.call(feed.functions.latestRoundData())[1])
        factor = Decimal(1) + Decimal(str(round(rng.uniform(-1.0, 1.0), 6))) * max_step
        answer = max(1, int(Decimal(latest) * factor))
        client.transact(feed.functions.updateAnswer(answer), sender=keeper)
        pushes.append(PricePush(symbol=symbol, previous=latest, answer=answer))
    return pushes

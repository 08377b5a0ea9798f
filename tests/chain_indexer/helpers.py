"""Transactions the indexer tests make on the demo chain."""

from __future__ import annotations

from decimal import Decimal

from eth_account.signers.local import LocalAccount

from chain.units import WAD, market_id, to_fixed
from tests.chain_indexer.conftest import DemoChain


def open_position(
    chain: DemoChain, trader: LocalAccount, *, symbol: str, notional: int, leverage: int, side: int
) -> int:
    perp = chain.perp
    price = perp.functions.markPrice(market_id(symbol)).call()
    size = side * (to_fixed(notional) * WAD // price)
    collateral = to_fixed(Decimal(notional) / leverage)
    chain.client.transact(perp.functions.openPosition(market_id(symbol), size, collateral), sender=trader)
    return int(perp.functions.nextPositionId().call()) - 1


def move_price(chain: DemoChain, symbol: str, factor: Decimal) -> int:
    feed = chain.feed(symbol)
    answer = int(Decimal(feed.functions.latestRoundData().call()[1]) * factor)
    chain.client.transact(feed.functions.updateAnswer(answer), sender=chain.accounts.keeper)
    return answer


def delegate(chain: DemoChain, holder: LocalAccount, to: str) -> None:
    chain.client.transact(chain.token.functions.delegate(to), sender=holder)


def transfer(chain: DemoChain, holder: LocalAccount, to: str, amount: int) -> None:
    chain.client.transact(chain.token.functions.transfer(to, amount), sender=holder)


def holder(chain: DemoChain, address: str) -> LocalAccount:
    return next(account for account in chain.accounts.holders if account.address == address)

"""The demo chain's mixed mining: every transaction still mines at once, and blocks also advance on a timer (the
on-chain governance demo, whose Governor counts voting in blocks)."""

from __future__ import annotations

import time

import pytest
from web3.types import Wei

from chain.anvil import anvil_args, find_anvil, main, start_anvil
from chain.client import ChainClient
from chain.errors import AnvilError
from tests.chain.helpers import require


def _args(**options: object) -> list[str]:
    base = {"host": "127.0.0.1", "port": 1, "chain_id": 31337, "accounts": 1, "mnemonic": "m", "balance_ether": 1}
    return anvil_args(**{**base, **options})


def test_mixed_mining_adds_the_flag_only_with_a_block_time() -> None:
    assert _args(block_time=2, mixed_mining=True)[-3:] == ["--block-time", "2", "--mixed-mining"]
    assert "--mixed-mining" not in _args(block_time=2) and "--mixed-mining" not in _args(
        block_time=None, mixed_mining=True
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--mine-every", "0"], "--mine-every must be a positive number of seconds, not 0.0"),
        (["--mine-every", "2", "--block-time", "1"], "--mine-every and --block-time exclude each other"),
    ],
)
def test_mine_every_refuses_bad_values_naming_the_option(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2 and message in capsys.readouterr().err


def test_transactions_mine_at_once_and_blocks_also_follow_the_clock() -> None:
    try:
        find_anvil()
    except AnvilError as exc:
        require(False, str(exc))
    node = start_anvil(block_time=1, mixed_mining=True, accounts=2)
    try:
        w3 = ChainClient.connect(node.url, chain_id=31337).w3
        sender, receiver = w3.eth.accounts[:2]
        tx_hash = w3.eth.send_transaction({"from": sender, "to": receiver, "value": Wei(1)})
        assert w3.eth.get_transaction_receipt(tx_hash)["status"] == 1  # mined when sent, not at the next tick
        head = w3.eth.block_number
        deadline = time.monotonic() + 10
        while w3.eth.block_number < head + 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert w3.eth.block_number >= head + 2, "no blocks were mined on the timer"
        assert w3.eth.get_block(head + 2)["transactions"] == []
    finally:
        node.stop()

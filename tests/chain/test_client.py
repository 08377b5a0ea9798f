"""ChainClient: chain-id check, retries on transient failures only, revert decoding, Anvil runner."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from eth_abi import encode
from eth_account.signers.local import LocalAccount
from eth_typing import HexStr
from web3.contract import Contract
from web3.exceptions import ContractLogicError, Web3RPCError

from chain.anvil import AnvilNode, find_anvil, free_port, start_anvil
from chain.client import ChainClient, RetryPolicy, is_transient, redact_url
from chain.deploy import DemoAccounts
from chain.errors import AnvilError, ChainIdMismatch, ChainUnavailable, TransactionFailed
from chain.units import market_id
from tests.chain.helpers import reverts, wad

FAST_RETRY = RetryPolicy(attempts=4, base_delay=0.1, max_delay=0.3)


@dataclass
class Reply:
    """One scripted HTTP reply: status, JSON-RPC result or error; a held reply is sent only once the
    test sets ``ScriptedRPC.release``, so a client timeout always fires first."""

    status: int = 200
    result: object = None
    error: dict[str, object] | None = None
    held: bool = False


@dataclass
class ScriptedRPC:
    """A JSON-RPC endpoint answering from a script (then ``default``), recording method names."""

    replies: list[Reply] = field(default_factory=list)
    default: Reply = field(default_factory=lambda: Reply(result="0x7a69"))  # chain id 31337
    methods: list[str] = field(default_factory=list)
    url: str = ""
    release: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def scripted_rpc() -> Iterator[ScriptedRPC]:
    script = ScriptedRPC()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            script.methods.append(body["method"])
            reply = script.replies.pop(0) if script.replies else script.default
            if reply.held:
                script.release.wait(timeout=60)
            payload: dict[str, object] = {"jsonrpc": "2.0", "id": body["id"]}
            if reply.error is not None:
                payload["error"] = reply.error
            else:
                payload["result"] = reply.result
            data = json.dumps(payload).encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and went away

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    script.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield script
    finally:
        script.release.set()  # no handler stays blocked on a held reply
        server.shutdown()
        server.server_close()


# ------------------------------------------------------------------ chain id


def test_connect_accepts_the_configured_chain(anvil_node: AnvilNode) -> None:
    client = ChainClient.connect(anvil_node.url, chain_id=31337)
    assert client.chain_id == 31337
    assert client.block_number >= 0


def test_connect_rejects_another_chain_with_a_clear_error(anvil_node: AnvilNode) -> None:
    with pytest.raises(ChainIdMismatch, match=r"^CHAIN_ID mismatch: node reports 31337, configured 1$"):
        ChainClient.connect(anvil_node.url, chain_id=1)


# ------------------------------------------------------------------- retries


def test_closed_port_retries_with_backoff_then_raises() -> None:
    url = f"http://127.0.0.1:{free_port()}/v3/secret-api-key"
    sleeps: list[float] = []
    with pytest.raises(ChainUnavailable) as info:
        ChainClient.connect(url, chain_id=31337, timeout=1.0, retry=FAST_RETRY, sleep=sleeps.append)
    assert sleeps == [0.1, 0.2, 0.3]  # exponential, capped at max_delay
    message = str(info.value)
    assert "eth_chainId" in message and "after 4 attempts" in message and "ConnectionError" in message
    assert "secret-api-key" not in message  # provider keys stay out of logs


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_transient_http_status_is_retried(scripted_rpc: ScriptedRPC, status: int) -> None:
    scripted_rpc.replies = [Reply(status=status), Reply(status=status)]
    sleeps: list[float] = []
    client = ChainClient.connect(scripted_rpc.url, chain_id=31337, retry=FAST_RETRY, sleep=sleeps.append)
    assert client.chain_id == 31337
    assert scripted_rpc.methods == ["eth_chainId"] * 3
    assert sleeps == [0.1, 0.2]


def test_persistent_5xx_gives_up_after_the_configured_attempts(scripted_rpc: ScriptedRPC) -> None:
    scripted_rpc.default = Reply(status=503)
    with pytest.raises(ChainUnavailable, match="after 4 attempts: HTTPError"):
        ChainClient.connect(scripted_rpc.url, chain_id=31337, retry=FAST_RETRY, sleep=lambda _: None)
    assert len(scripted_rpc.methods) == 4


def test_read_timeout_is_retried(scripted_rpc: ScriptedRPC) -> None:
    scripted_rpc.replies = [Reply(result="0x7a69", held=True)]  # answered only after the test: always times out
    sleeps: list[float] = []
    try:
        client = ChainClient.connect(
            scripted_rpc.url, chain_id=31337, timeout=1.0, retry=FAST_RETRY, sleep=sleeps.append
        )
    finally:
        scripted_rpc.release.set()
    assert client.chain_id == 31337
    assert sleeps == [0.1]
    assert scripted_rpc.methods == ["eth_chainId"] * 2


def test_client_errors_are_not_retried(scripted_rpc: ScriptedRPC) -> None:
    scripted_rpc.default = Reply(status=400)
    sleeps: list[float] = []
    with pytest.raises(requests.HTTPError):
        ChainClient.connect(scripted_rpc.url, chain_id=31337, retry=FAST_RETRY, sleep=sleeps.append)
    assert scripted_rpc.methods == ["eth_chainId"] and sleeps == []


def test_reverts_are_not_retried(scripted_rpc: ScriptedRPC) -> None:
    client = ChainClient.connect(scripted_rpc.url, chain_id=31337, retry=FAST_RETRY, sleep=lambda _: None)
    revert_data = "0x08c379a0" + encode(["string"], ["no"]).hex()  # Error("no")
    revert = Reply(error={"code": 3, "message": "execution reverted: no", "data": revert_data})
    scripted_rpc.default = revert
    scripted_rpc.replies = [Reply(result="0x7a69")]  # web3 asks for the chain id before eth_call
    with pytest.raises((ContractLogicError, Web3RPCError)):
        client.w3.eth.call({"to": "0x" + "11" * 20, "data": HexStr("0x")})
    assert scripted_rpc.methods.count("eth_call") == 1


def test_transaction_submission_is_not_retried_on_ambiguous_failures(scripted_rpc: ScriptedRPC) -> None:
    client = ChainClient.connect(scripted_rpc.url, chain_id=31337, retry=FAST_RETRY, sleep=lambda _: None)
    scripted_rpc.default = Reply(status=502)
    with pytest.raises(requests.HTTPError):
        client.rpc("eth_sendRawTransaction", "0x00")
    assert scripted_rpc.methods == ["eth_chainId", "eth_sendRawTransaction"]


@pytest.mark.parametrize(
    ("exc", "method", "transient"),
    [
        (requests.ConnectionError("refused"), "eth_call", True),
        (requests.ReadTimeout("slow"), "eth_getLogs", True),
        (requests.ReadTimeout("slow"), "eth_sendRawTransaction", False),
        (requests.ConnectTimeout("connect"), "eth_sendRawTransaction", True),
        (requests.ConnectionError("reset mid-response"), "eth_sendTransaction", False),
        (ValueError("not a network error"), "eth_call", False),
    ],
)
def test_is_transient(exc: BaseException, method: str, transient: bool) -> None:
    assert is_transient(exc, method) is transient


def test_redact_url_keeps_host_and_port_only() -> None:
    assert redact_url("https://user:pw@rpc.example.org:8443/v3/KEY?x=1") == "https://rpc.example.org:8443"


# ------------------------------------------------------------- transactions


def test_local_key_and_unlocked_address_both_send(
    client: ChainClient, registry: Contract, accounts: DemoAccounts
) -> None:
    deployer: LocalAccount = accounts.deployer
    args = (market_id("ETH-USD"), wad("0.1"), wad("0.05"), wad("10"), wad("0.01"), 0, wad("1000"))
    signed_locally = client.transact(registry.functions.setParameters(*args), sender=deployer)
    unlocked = client.transact(registry.functions.setParameters(*args), sender=deployer.address)
    assert signed_locally["status"] == unlocked["status"] == 1
    assert registry.functions.versionOf(market_id("ETH-USD")).call() == 3


def test_revert_caught_at_estimation_is_decoded(
    client: ChainClient, registry: Contract, accounts: DemoAccounts
) -> None:
    stranger = accounts.holders[0]
    args = (market_id("ETH-USD"), wad("0.1"), wad("0.05"), wad("10"), wad("0.01"), 0, wad("1000"))
    with reverts("OwnableUnauthorizedAccount", account=stranger.address) as info:
        client.transact(registry.functions.setParameters(*args), sender=stranger)
    assert str(info.value).startswith("setParameters reverted with OwnableUnauthorizedAccount(account=")


def test_mined_revert_raises_transaction_failed(
    client: ChainClient, registry: Contract, accounts: DemoAccounts
) -> None:
    args = (market_id("ETH-USD"), wad("0.1"), wad("0.05"), wad("10"), wad("0.01"), 0, wad("1000"))
    with pytest.raises(TransactionFailed, match="receipt status 0"):
        client.transact(registry.functions.setParameters(*args), sender=accounts.holders[0], gas=200_000)


def test_call_decodes_reverts_of_views(client: ChainClient, registry: Contract) -> None:
    with reverts("MarketNotConfigured", marketId=market_id("DOGE-USD")) as info:
        client.call(registry.functions.getParameters(market_id("DOGE-USD")))
    assert "marketId=0x444f47452d555344" in str(info.value)


# ------------------------------------------------------------------- anvil


def test_find_anvil_prefers_the_npm_binary(anvil_node: AnvilNode) -> None:
    assert find_anvil()[0].endswith("anvil")


def test_start_anvil_refuses_a_port_already_serving(anvil_node: AnvilNode) -> None:
    with pytest.raises(AnvilError, match="already answers"):
        start_anvil(port=anvil_node.port)


def test_anvil_node_stops(anvil_node: AnvilNode) -> None:
    with start_anvil(accounts=2) as node:
        assert ChainClient.connect(node.url, chain_id=31337).block_number == 0
    assert not node.running()


def test_anvil_state_survives_a_restart(anvil_node: AnvilNode, tmp_path: Path) -> None:
    state = tmp_path / "anvil-state.json"
    deployer = DemoAccounts.from_mnemonic(2).deployer
    with start_anvil(accounts=2, state_path=state) as node:
        client = ChainClient.connect(node.url, chain_id=31337)
        address = client.deploy("SmartWallet", deployer.address, sender=deployer)
    assert state.is_file()
    with start_anvil(accounts=2, state_path=state) as node:
        client = ChainClient.connect(node.url, chain_id=31337)
        assert client.block_number == 1
        assert client.contract("SmartWallet", address).functions.owner().call() == deployer.address

"""JSON-RPC client for the protocol contracts.

``ChainClient.connect(rpc_url, chain_id=...)`` builds a web3 HTTP provider with a request timeout,
checks that the node serves the configured chain, and retries with exponential backoff on
transient failures only (connection errors, timeouts, HTTP 5xx and 429) — never on reverts or
other JSON-RPC errors. Transactions can be sent from an address the node has unlocked (Anvil's
dev accounts) or from a local key (:class:`eth_account.signers.local.LocalAccount`); every helper
waits for the receipt and turns reverts into :class:`~chain.errors.ContractReverted`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import requests
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from urllib3.exceptions import NewConnectionError
from web3 import HTTPProvider, Web3
from web3.contract import Contract
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.exceptions import ContractLogicError
from web3.types import BlockIdentifier, RPCEndpoint, RPCResponse, TxParams, TxReceipt, Wei

from chain.artifacts import load_artifact
from chain.errors import ChainError, ChainIdMismatch, ChainUnavailable, ContractReverted, TransactionFailed
from chain.reverts import decode_revert, render_args

logger = logging.getLogger(__name__)

#: An address unlocked on the node (``eth_sendTransaction``) or a local key (signed here).
Sender = str | LocalAccount

# Re-sending these after an ambiguous failure could submit the same intent twice.
_SEND_METHODS = frozenset({"eth_sendTransaction", "eth_sendRawTransaction"})


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: retry ``i`` (0-based) waits ``min(max_delay, base_delay * 2**i)`` seconds."""

    attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 4.0

    def delay(self, retry_index: int) -> float:
        return float(min(self.max_delay, self.base_delay * 2**retry_index))


def _request_never_sent(exc: requests.RequestException) -> bool:
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ConnectTimeout) or isinstance(reason, NewConnectionError)


def is_transient(exc: BaseException, method: str) -> bool:
    """Whether a failed JSON-RPC request may be retried.

    Connection errors, timeouts and HTTP 5xx/429 are transient; for transaction submission only
    failures where the node cannot have received the request (refused connection, connect
    timeout, 429) are, so a retry never sends a transaction twice.
    """
    sending = method in _SEND_METHODS
    if isinstance(exc, requests.HTTPError):
        status = exc.response.status_code if exc.response is not None else 0
        return status == HTTPStatus.TOO_MANY_REQUESTS or (status >= HTTPStatus.INTERNAL_SERVER_ERROR and not sending)
    if isinstance(exc, requests.ConnectionError):
        return not sending or _request_never_sent(exc)
    if isinstance(exc, requests.Timeout):
        return not sending
    return False


def redact_url(url: str) -> str:
    """Scheme, host and port only: provider URLs often carry an API key in the path or query."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


class RetryingHTTPProvider(HTTPProvider):
    """HTTP provider with a request timeout and backoff retries on transient failures only."""

    def __init__(
        self,
        endpoint_uri: str,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        # web3's own retry is disabled: it cannot tell a 5xx from a 4xx or a send from a read.
        super().__init__(endpoint_uri, request_kwargs={"timeout": timeout}, exception_retry_configuration=None)
        self.retry = retry
        self._sleep = sleep

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return super().make_request(method, params)
            except requests.RequestException as exc:
                if not is_transient(exc, method):
                    raise
                if attempt == self.retry.attempts:
                    raise ChainUnavailable(
                        f"JSON-RPC {method} to {redact_url(str(self.endpoint_uri))} failed after "
                        f"{attempt} attempts: {type(exc).__name__}: {self._redacted(exc)}"
                    ) from exc
                delay = self.retry.delay(attempt - 1)
                logger.warning(
                    "JSON-RPC %s failed (%s), retry %d/%d in %.2fs",  # no URL: it may hold an API key
                    method,
                    type(exc).__name__,
                    attempt,
                    self.retry.attempts - 1,
                    delay,
                )
                self._sleep(delay)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _redacted(self, exc: BaseException) -> str:
        """``str(exc)`` without the endpoint's path and query, which may hold an API key."""
        parts = urlsplit(str(self.endpoint_uri))
        secret = parts.path + (f"?{parts.query}" if parts.query else "")
        text = str(exc)
        return text.replace(secret, "/<redacted>") if secret not in ("", "/") else text


def sender_address(sender: Sender) -> ChecksumAddress:
    """Checksum address of a sender (unlocked address or local key)."""
    if isinstance(sender, LocalAccount):
        return sender.address
    return Web3.to_checksum_address(sender)


@contextmanager
def reverts_decoded(label: str) -> Iterator[None]:
    """Re-raise web3's revert exceptions as :class:`ContractReverted` with the decoded custom error."""
    try:
        yield
    except ContractLogicError as exc:
        data = exc.data if isinstance(exc.data, str) else None
        decoded = decode_revert(data)
        error, args = (decoded.error, decoded.args) if decoded else ("Unknown", {})
        if decoded is None and exc.message:
            args = {"message": exc.message}
        rendered = render_args(args)
        raise ContractReverted(
            error=error, args=args, data=data or "0x", message=f"{label} reverted with {error}({rendered})"
        ) from exc


class ChainClient:
    """A web3 connection bound to one chain id, with deploy/call/transact helpers."""

    def __init__(
        self,
        w3: Web3,
        *,
        chain_id: int,
        receipt_timeout: float = 120.0,
        poll_latency: float = 0.05,
        gas_headroom: float = 1.2,
    ) -> None:
        self.w3 = w3
        self.chain_id = chain_id
        self.receipt_timeout = receipt_timeout
        self.poll_latency = poll_latency
        self.gas_headroom = gas_headroom

    @classmethod
    def connect(
        cls,
        rpc_url: str,
        *,
        chain_id: int,
        timeout: float = 10.0,
        retry: RetryPolicy = RetryPolicy(),
        receipt_timeout: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> ChainClient:
        """Connect to ``rpc_url`` and verify its chain id (raises :class:`ChainIdMismatch`).

        ``timeout`` is per HTTP request in seconds; unreachable nodes raise :class:`ChainUnavailable`
        once ``retry`` is exhausted.
        """
        provider = RetryingHTTPProvider(rpc_url, timeout=timeout, retry=retry, sleep=sleep)
        client = cls(Web3(provider), chain_id=chain_id, receipt_timeout=receipt_timeout)
        client.check_chain_id()
        return client

    @property
    def rpc_url(self) -> str:
        return str(getattr(self.w3.provider, "endpoint_uri", ""))

    def check_chain_id(self) -> None:
        """Raise :class:`ChainIdMismatch` unless the node's ``eth_chainId`` equals the configured one."""
        reported = int(self.w3.eth.chain_id)
        if reported != self.chain_id:
            raise ChainIdMismatch(reported=reported, configured=self.chain_id)

    @property
    def block_number(self) -> int:
        return int(self.w3.eth.block_number)

    def rpc(self, method: str, *params: Any) -> Any:
        """Raw JSON-RPC call (``anvil_*``, ``evm_*``); raises :class:`ChainError` on an error response."""
        response = self.w3.provider.make_request(RPCEndpoint(method), list(params))
        if response.get("error"):
            raise ChainError(f"{method} failed: {response['error']}")
        return response.get("result")

    # ----------------------------------------------------------- contracts

    def contract(self, name: str, address: str) -> Contract:
        """Contract ``name`` (artifact) at ``address``."""
        abi = load_artifact(name).abi
        return self.w3.eth.contract(address=Web3.to_checksum_address(address), abi=abi)

    def deploy(self, name: str, *args: Any, sender: Sender) -> ChecksumAddress:
        """Deploy artifact ``name`` with constructor ``args``; returns the address once mined."""
        artifact = load_artifact(name)
        if not artifact.deployable:
            raise ChainError(f"{name} has no bytecode (interface or abstract contract)")
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        receipt = self._send(factory.constructor(*args), sender=sender, label=f"{name} constructor")
        address = receipt["contractAddress"]
        if address is None:
            raise ChainError(f"{name} deployment receipt has no contract address")
        return Web3.to_checksum_address(address)

    def transact(
        self, function: ContractFunction, *, sender: Sender, value: int = 0, gas: int | None = None
    ) -> TxReceipt:
        """Send ``function`` as a transaction from ``sender`` and wait for a successful receipt.

        ``value`` in wei. Reverts raise :class:`ContractReverted` (caught at gas estimation) or
        :class:`TransactionFailed` (mined with status 0, e.g. when ``gas`` is given).
        """
        return self._send(function, sender=sender, value=value, gas=gas, label=function.fn_name)

    def call(self, function: ContractFunction, *, block_identifier: BlockIdentifier = "latest") -> Any:
        """``eth_call`` with reverts decoded into :class:`ContractReverted`."""
        with reverts_decoded(function.fn_name):
            return function.call(block_identifier=block_identifier)

    def wait_for_receipt(self, tx_hash: HexBytes | bytes | str) -> TxReceipt:
        """Wait until mined; raise :class:`TransactionFailed` when the receipt status is 0."""
        receipt = self.w3.eth.wait_for_transaction_receipt(
            HexBytes(tx_hash), timeout=self.receipt_timeout, poll_latency=self.poll_latency
        )
        if receipt["status"] != 1:
            raise TransactionFailed(HexBytes(tx_hash).to_0x_hex())
        return receipt

    def _send(
        self,
        call: ContractFunction | ContractConstructor,
        *,
        sender: Sender,
        label: str,
        value: int = 0,
        gas: int | None = None,
    ) -> TxReceipt:
        params: TxParams = {"from": sender_address(sender), "value": Wei(value), "chainId": self.chain_id}
        with reverts_decoded(label):
            # Estimate against "pending": ERC20Votes writes a new checkpoint slot per block, which an
            # estimate in the latest block's context misses (it then runs out of gas).
            if gas is None:
                gas = int(call.estimate_gas(params, block_identifier="pending") * self.gas_headroom)
            params["gas"] = gas
            if isinstance(sender, LocalAccount):
                params["nonce"] = self.w3.eth.get_transaction_count(sender.address, "pending")
                tx = call.build_transaction(params)
                signed = sender.sign_transaction(tx)  # type: ignore[arg-type]
                tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
            else:
                tx_hash = call.transact(params)
        return self.wait_for_receipt(tx_hash)


__all__ = [
    "ChainClient",
    "RetryPolicy",
    "RetryingHTTPProvider",
    "Sender",
    "is_transient",
    "redact_url",
    "reverts_decoded",
    "sender_address",
]

"""Decoding raw ``eth_getLogs`` entries into named events, without web3's per-log formatters.

The protocol's events only carry static ABI types (addresses, integers, ``bytes32``, ``bool``), so a
log decodes by slicing 32-byte words out of its topics and data; anything else falls back to
``eth_abi``. Integers stay Python ints (uint256 does not fit a float); addresses are checksummed.
This module is pure (no Django) so the indexer's hot path can be benchmarked and tested alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address

from chain.artifacts import load_abi

_WORD = 64  # hex characters per 32-byte word
_INT_OFFSET = 1 << 256
_INT_LIMIT = 1 << 255


@cache
def checksum(address_hex: str) -> str:
    """EIP-55 checksum of a ``0x`` address (cached: the same few addresses recur in every range)."""
    return str(to_checksum_address(address_hex))


def _decode_word(abi_type: str, word: str) -> Any:
    if abi_type == "address":
        return checksum("0x" + word[-40:])
    if abi_type.startswith("uint"):
        return int(word, 16)
    if abi_type.startswith("int"):
        value = int(word, 16)
        return value - _INT_OFFSET if value >= _INT_LIMIT else value
    if abi_type == "bool":
        return int(word, 16) != 0
    if abi_type.startswith("bytes") and abi_type[5:].isdigit():
        return "0x" + word
    raise ValueError(f"not a static ABI type: {abi_type}")


def _normalise(abi_type: str, value: Any) -> Any:
    """An ``eth_abi`` value in the form the word decoder gives: checksummed addresses, ``0x`` hex bytes,
    lists for arrays (element by element)."""
    if abi_type.endswith("]"):
        inner = abi_type[: abi_type.rindex("[")]
        return [_normalise(inner, item) for item in value]
    if abi_type == "address":
        return checksum(value)
    if abi_type.startswith("bytes"):
        return "0x" + bytes(value).hex()
    return value


def _is_static(abi_type: str) -> bool:
    return (
        abi_type in {"address", "bool"}
        or abi_type.startswith(("uint", "int"))
        or (abi_type.startswith("bytes") and abi_type[5:].isdigit())
    ) and "[" not in abi_type


@dataclass(frozen=True)
class EventSpec:
    """One event of an ABI: its topic, and which inputs come from topics and which from data."""

    name: str
    topic: str
    indexed: tuple[tuple[str, str], ...]  # (name, type) in topic order
    data: tuple[tuple[str, str], ...]  # (name, type) in data order
    static_data: bool

    def decode_args(self, topics: Sequence[str], data: str) -> dict[str, Any]:
        args: dict[str, Any] = {}
        for (name, abi_type), topic in zip(self.indexed, topics[1:], strict=True):
            # Indexed dynamic values are stored as their hash: keep the topic as is.
            args[name] = _decode_word(abi_type, topic[2:]) if _is_static(abi_type) else topic
        payload = data[2:] if data.startswith("0x") else data
        if self.static_data:
            for index, (name, abi_type) in enumerate(self.data):
                args[name] = _decode_word(abi_type, payload[index * _WORD : (index + 1) * _WORD])
        elif self.data:
            values = abi_decode([t for _, t in self.data], bytes.fromhex(payload))
            args.update(
                {name: _normalise(abi_type, value) for (name, abi_type), value in zip(self.data, values, strict=True)}
            )
        return args


@dataclass(frozen=True)
class DecodedLog:
    """A log with its event decoded. ``block_timestamp`` is ``None`` when the node omits it."""

    address: str
    event: str
    args: dict[str, Any]
    block_number: int
    block_hash: str
    block_timestamp: int | None
    tx_hash: str
    log_index: int

    @property
    def position(self) -> tuple[int, int]:
        """Order within the chain: (block number, log index)."""
        return (self.block_number, self.log_index)


class UnknownEvent(ValueError):
    """A log whose first topic matches no event of the contract's ABI."""


def _signature(entry: dict[str, Any]) -> str:
    return f"{entry['name']}({','.join(_canonical_type(i) for i in entry['inputs'])})"


def _canonical_type(item: dict[str, Any]) -> str:
    abi_type = str(item["type"])
    if abi_type.startswith("tuple"):
        inner = ",".join(_canonical_type(component) for component in item["components"])
        return f"({inner}){abi_type[5:]}"
    return abi_type


class EventDecoder:
    """Decodes the logs of one contract ABI (by artifact name or an ABI list)."""

    def __init__(self, abi: Iterable[dict[str, Any]]) -> None:
        self.by_topic: dict[str, EventSpec] = {}
        for entry in abi:
            if entry.get("type") != "event" or entry.get("anonymous"):
                continue
            topic = "0x" + keccak(text=_signature(entry)).hex()
            indexed = tuple((i["name"], _canonical_type(i)) for i in entry["inputs"] if i["indexed"])
            data = tuple((i["name"], _canonical_type(i)) for i in entry["inputs"] if not i["indexed"])
            self.by_topic[topic] = EventSpec(
                name=entry["name"],
                topic=topic,
                indexed=indexed,
                data=data,
                static_data=all(_is_static(t) for _, t in data),
            )

    @classmethod
    @cache
    def for_contract(cls, contract_name: str) -> EventDecoder:
        return cls(load_abi(contract_name))

    def topic_of(self, event_name: str) -> str:
        for spec in self.by_topic.values():
            if spec.name == event_name:
                return spec.topic
        raise KeyError(event_name)

    def decode(self, log: dict[str, Any]) -> DecodedLog:
        """Decode one raw JSON-RPC log (hex strings as returned by ``eth_getLogs``)."""
        topics = log["topics"]
        spec = self.by_topic.get(topics[0].lower()) if topics else None
        if spec is None:
            raise UnknownEvent(f"log {log.get('transactionHash')}:{log.get('logIndex')} matches no known event")
        timestamp = log.get("blockTimestamp")
        return DecodedLog(
            address=checksum(log["address"]),
            event=spec.name,
            args=spec.decode_args(topics, log["data"]),
            block_number=int(log["blockNumber"], 16),
            block_hash=log["blockHash"],
            block_timestamp=int(timestamp, 16) if timestamp is not None else None,
            tx_hash=log["transactionHash"],
            log_index=int(log["logIndex"], 16),
        )

    def decode_all(self, logs: Iterable[dict[str, Any]]) -> list[DecodedLog]:
        """Decode logs in chain order, skipping removed ones and events the ABI does not know."""
        decoded = []
        for log in logs:
            if log.get("removed"):
                continue
            topics = log["topics"]
            if not topics or topics[0].lower() not in self.by_topic:
                continue
            decoded.append(self.decode(log))
        decoded.sort(key=lambda d: d.position)
        return decoded


def _json_value(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    return value


def json_safe(args: dict[str, Any]) -> dict[str, Any]:
    """Event args for a JSON column: integers as decimal strings (uint256 does not fit JSON numbers), in
    arrays too; bytes as ``0x`` hex."""
    return {key: _json_value(value) for key, value in args.items()}


__all__ = ["DecodedLog", "EventDecoder", "EventSpec", "UnknownEvent", "checksum", "json_safe"]

"""Decode revert data into the custom error that caused it.

Selectors are collected from every committed artifact, so an error raised by a contract called
indirectly (the registry inside PerpMarket) decodes as well as the called contract's own errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from eth_abi import decode
from eth_abi.exceptions import DecodingError
from eth_utils import keccak, to_checksum_address

from chain.artifacts import artifact_names, load_artifact

SELECTOR_LENGTH = 4  # bytes of keccak256(signature) that name a function or error

# Solidity's built-in revert encodings.
_BUILTIN_ERRORS: dict[bytes, tuple[str, list[str], list[str]]] = {
    keccak(text="Error(string)")[:SELECTOR_LENGTH]: ("Error", ["message"], ["string"]),
    keccak(text="Panic(uint256)")[:SELECTOR_LENGTH]: ("Panic", ["code"], ["uint256"]),
}


@dataclass(frozen=True)
class DecodedRevert:
    """A revert reason: custom error name and its arguments by name."""

    error: str
    args: dict[str, Any]


def _abi_type(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_abi_type(component) for component in param["components"])
        return f"({inner}){param['type'][len('tuple') :]}"
    return str(param["type"])


@cache
def _error_table() -> dict[bytes, tuple[str, list[str], list[str]]]:
    table = dict(_BUILTIN_ERRORS)
    for name in artifact_names():
        for entry in load_artifact(name).abi:
            if entry["type"] != "error":
                continue
            types = [_abi_type(param) for param in entry["inputs"]]
            selector = keccak(text=f"{entry['name']}({','.join(types)})")[:SELECTOR_LENGTH]
            table[selector] = (entry["name"], [param["name"] for param in entry["inputs"]], types)
    return table


def decode_revert(data: str | bytes | None) -> DecodedRevert | None:
    """Decode ABI-encoded revert data (``0x`` + selector + args); ``None`` when unknown or empty."""
    if data is None:
        return None
    raw = bytes.fromhex(data.removeprefix("0x")) if isinstance(data, str) else bytes(data)
    if len(raw) < SELECTOR_LENGTH:
        return None
    entry = _error_table().get(raw[:SELECTOR_LENGTH])
    if entry is None:
        return None
    name, arg_names, types = entry
    try:
        values = decode(types, raw[SELECTOR_LENGTH:])
    except (DecodingError, OverflowError, UnicodeDecodeError):
        # a malformed payload behind a known selector (short data, bad padding or pointers, lengths past
        # the index range, invalid UTF-8 in a string): report the name only
        return DecodedRevert(error=name, args={})
    # Checksummed addresses compare equal to what web3 returns everywhere else.
    normalised = [
        to_checksum_address(value) if abi_type == "address" else value
        for abi_type, value in zip(types, values, strict=True)
    ]
    return DecodedRevert(error=name, args=dict(zip(arg_names, normalised, strict=True)))


def render_args(args: dict[str, Any]) -> str:
    """``name=value, ...`` with bytes shown as ``0x`` hex."""
    return ", ".join(
        f"{key}={'0x' + value.hex() if isinstance(value, bytes) else repr(value)}" for key, value in args.items()
    )

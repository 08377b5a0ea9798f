"""Shared helpers for the chain tests."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import TxReceipt

from chain.errors import ContractReverted

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
REPO_ROOT = Path(__file__).resolve().parents[2]
ONE = 10**18


def require(available: bool, what: str) -> None:
    """Skip locally, fail under CI=true, when ``what`` is missing."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} (required under CI=true)")
    pytest.skip(what)


def require_node_modules() -> str:
    """Path of ``node`` once node and the npm dependencies are installed."""
    node = shutil.which("node")
    require(node is not None, "node is not on PATH")
    require((REPO_ROOT / "node_modules" / "solc").is_dir(), "node_modules missing: run npm install")
    assert node is not None
    return node


@contextmanager
def reverts(error: str, **expected_args: object) -> Iterator[pytest.ExceptionInfo[ContractReverted]]:
    """Expect a :class:`ContractReverted` with custom error ``error`` (and, optionally, argument values)."""
    with pytest.raises(ContractReverted) as info:
        yield info
    assert info.value.error == error, str(info.value)
    for name, value in expected_args.items():
        assert info.value.args_by_name[name] == value, str(info.value)


def events(contract: Contract, name: str, receipt: TxReceipt) -> list[dict[str, Any]]:
    """Decoded ``name`` events of ``contract`` in ``receipt`` (other contracts' logs are skipped)."""
    return [dict(log["args"]) for log in contract.events[name]().process_receipt(receipt, errors=DISCARD)]


def wad(value: str | int) -> int:
    """Decimal string -> 1e18 fixed point."""
    return int(Decimal(value) * ONE)

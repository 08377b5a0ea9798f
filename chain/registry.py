"""The one `RiskParameterRegistry.setParameters` call: its arguments, its calldata and its contract function.

Execution sends it and the proposal page shows its calldata, both from these functions and the committed ABI
(``chain/artifacts/RiskParameterRegistry.json``). Target values are 1e18 integers (decimal strings or ints):
rates and ``maxLeverage`` fixed point, ``oiCap`` base units per side (see :mod:`chain`). No Django here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from functools import cache
from typing import Any

from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction

from chain.artifacts import load_artifact
from chain.units import market_id, to_fixed

REGISTRY_CONTRACT = "RiskParameterRegistry"
UPDATE_FUNCTION = "setParameters"
# setParameters(bytes32 marketId, uint256 imr, mmr, maxLeverage, liquidationPenalty, insuranceFeeShare, oiCap)
REGISTRY_FIELDS = ("imr", "mmr", "maxLeverage", "liquidationPenalty", "insuranceFeeShare", "oiCap")
RATE_FIELDS = ("imr", "mmr", "max_leverage", "liquidation_penalty", "insurance_fee_share")  # MarginParameters names


def registry_targets(values: Mapping[str, Decimal | None], *, oi_cap: int) -> dict[str, str]:
    """setParameters values (decimal strings of 1e18 integers) from margin parameters and an OI cap in base
    units (already 1e18); an unset rate is sent as 0."""
    fixed = [to_fixed(values.get(name) or 0) for name in RATE_FIELDS]
    return {name: str(value) for name, value in zip(REGISTRY_FIELDS, [*fixed, int(oi_cap)], strict=True)}


def registry_update_args(symbol: str, targets: Mapping[str, int | str]) -> list[Any]:
    """The arguments of setParameters for the registry market `symbol` (e.g. "ETH-USD"), in ABI order."""
    return [market_id(symbol), *(int(targets[name]) for name in REGISTRY_FIELDS)]


@cache
def _offline_registry() -> Contract:
    return Web3().eth.contract(abi=load_artifact(REGISTRY_CONTRACT).abi)  # type: ignore[return-value]


def registry_update_calldata(symbol: str, targets: Mapping[str, int | str]) -> str:
    """0x-hex calldata of setParameters (selector + ABI-encoded arguments), exactly what execution sends."""
    return str(_offline_registry().encode_abi(UPDATE_FUNCTION, args=registry_update_args(symbol, targets)))


def registry_update_call(registry: Contract, symbol: str, targets: Mapping[str, int | str]) -> ContractFunction:
    """The setParameters call on a deployed `registry`, ready to transact."""
    return registry.functions.setParameters(*registry_update_args(symbol, targets))


def registry_update_signature() -> str:
    """The function signature the calldata's selector hashes, e.g. setParameters(bytes32,uint256,…)."""
    abi = next(item for item in load_artifact(REGISTRY_CONTRACT).abi if item.get("name") == UPDATE_FUNCTION)
    return f"{UPDATE_FUNCTION}({','.join(str(i['type']) for i in abi['inputs'])})"


def registry_targets_ordered(targets: Mapping[str, int | str]) -> Sequence[tuple[str, int]]:
    """(argument name, value) in ABI order, for display."""
    return [(name, int(targets[name])) for name in REGISTRY_FIELDS]

"""Compiled contract artifacts (ABI + bytecode) committed under ``chain/artifacts``.

They are produced by ``node chain/contracts/compile.js`` so nothing here needs a compiler.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from chain.errors import ArtifactNotFound

ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
HEX_PREFIX = "0x"


@dataclass(frozen=True)
class Artifact:
    """One compiled contract. ``bytecode`` is ``"0x"`` for interfaces."""

    contract_name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    source_name: str
    source_hash: str
    compiler: dict[str, Any]

    @property
    def deployable(self) -> bool:
        return len(self.bytecode) > len(HEX_PREFIX)


def artifact_names(directory: Path = ARTIFACTS_DIR) -> list[str]:
    """Names of every compiled contract, sorted."""
    return sorted(path.stem for path in directory.glob("*.json"))


@cache
def load_artifact(name: str, directory: Path = ARTIFACTS_DIR) -> Artifact:
    """Load ``<directory>/<name>.json``; raises :class:`ArtifactNotFound` naming the known contracts."""
    path = directory / f"{name}.json"
    if not path.is_file():
        known = ", ".join(artifact_names(directory)) or "none"
        raise ArtifactNotFound(f"no artifact for contract {name!r} in {directory} (known: {known})")
    data = json.loads(path.read_text(encoding="utf-8"))
    return Artifact(
        contract_name=data["contractName"],
        abi=data["abi"],
        bytecode=data["bytecode"],
        deployed_bytecode=data["deployedBytecode"],
        source_name=data["sourceName"],
        source_hash=data["sourceHash"],
        compiler=data["compiler"],
    )


def load_abi(name: str) -> list[dict[str, Any]]:
    """ABI of a compiled contract."""
    return load_artifact(name).abi

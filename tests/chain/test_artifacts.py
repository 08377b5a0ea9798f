"""Committed artifacts are loadable and match a fresh compile of the Solidity sources."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from chain.artifacts import ARTIFACTS_DIR, artifact_names, load_artifact
from chain.errors import ArtifactNotFound
from tests.chain.helpers import REPO_ROOT, require_node_modules

DEPLOYABLE = {
    "GovToken",
    "IndexerBenchBatcher",
    "PerpMarket",
    "PriceFeed",
    "RiskGovernor",
    "RiskParameterRegistry",
    "RiskTimelock",
    "SmartWallet",
}


def test_every_contract_has_an_artifact() -> None:
    assert set(artifact_names()) == DEPLOYABLE | {"AggregatorV3Interface"}


@pytest.mark.parametrize("name", sorted(DEPLOYABLE))
def test_deployable_artifacts_carry_bytecode_and_compiler_settings(name: str) -> None:
    artifact = load_artifact(name)
    assert artifact.contract_name == name
    assert artifact.deployable and re.fullmatch(r"0x(?:[0-9a-f]{2})+", artifact.bytecode)
    assert len(artifact.deployed_bytecode) > 2
    assert artifact.compiler["evmVersion"] == "cancun"
    assert artifact.compiler["optimizer"] == {"enabled": True, "runs": 200}
    assert artifact.compiler["version"].startswith("0.8.")
    assert artifact.source_name.startswith("chain/contracts/")
    assert artifact.source_hash.startswith("0x") and len(artifact.source_hash) == 66


def test_interface_artifact_has_no_bytecode() -> None:
    assert not load_artifact("AggregatorV3Interface").deployable


def test_unknown_artifact_names_the_known_ones() -> None:
    with pytest.raises(ArtifactNotFound, match="known: AggregatorV3Interface, GovToken"):
        load_artifact("Nope")


def test_artifacts_are_not_stale(tmp_path: Path) -> None:
    """Recompile into a temporary directory and compare byte for byte with the committed files."""
    node = require_node_modules()
    result = subprocess.run(
        [node, "chain/contracts/compile.js", "--out", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,  # the assertion below shows stderr
    )
    assert result.returncode == 0, result.stderr
    fresh = {path.name: path.read_text() for path in tmp_path.glob("*.json")}
    committed = {path.name: path.read_text() for path in ARTIFACTS_DIR.glob("*.json")}
    assert sorted(fresh) == sorted(committed)
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"stale artifacts, run `make contracts`: {stale}"

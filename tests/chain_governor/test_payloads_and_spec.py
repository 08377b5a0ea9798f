"""Payload building, proposal ids and the Governor settings mirrored from the app's, without a node."""

from __future__ import annotations

from decimal import Decimal

import pytest
from eth_abi import encode
from eth_utils import keccak

from chain.deploy import GovernorSpec
from chain.governor import ProposalPayload, hash_proposal, registry_update_payload
from chain.registry import registry_update_calldata

REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
GOVERNOR = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
TARGETS = {"imr": 6 * 10**16, "mmr": 3 * 10**16, "maxLeverage": 15 * 10**18, "liquidationPenalty": 10**16,
           "insuranceFeeShare": 5 * 10**17, "oiCap": 10**23}  # fmt: skip


def test_registry_payload_calls_set_parameters_per_market_and_its_id_is_hash_proposal() -> None:
    payload = registry_update_payload(REGISTRY, [("ETH-USD", TARGETS), ("BTC-USD", TARGETS)], "Two markets")

    assert payload.targets == (REGISTRY, REGISTRY)
    assert payload.values == (0, 0)
    assert payload.calldatas == (
        registry_update_calldata("ETH-USD", TARGETS),
        registry_update_calldata("BTC-USD", TARGETS),
    )
    assert payload.calldatas[0].startswith(
        "0x" + keccak(text="setParameters(bytes32,uint256,uint256,uint256,uint256,uint256,uint256)")[:4].hex()
    )
    # the id by hand: uint256(keccak256(abi.encode(targets, values, calldatas, keccak256(description))))
    by_hand = keccak(
        encode(
            ["address[]", "uint256[]", "bytes[]", "bytes32"],
            [[REGISTRY] * 2, [0, 0], [bytes.fromhex(c[2:]) for c in payload.calldatas], keccak(text="Two markets")],
        )
    )
    assert payload.proposal_id == int.from_bytes(by_hand, "big")
    assert payload.proposal_id == hash_proposal(
        payload.targets, payload.values, payload.calldatas, keccak(text="Two markets")
    )
    assert ProposalPayload.from_json(payload.as_json()) == payload
    assert payload.as_json()["proposal_id"] == str(payload.proposal_id)


def test_transactions_for_the_wallet_encode_the_same_arguments() -> None:
    payload = registry_update_payload(REGISTRY, [("ETH-USD", TARGETS)], "One market")
    propose = payload.propose_tx(GOVERNOR)
    assert propose["to"] == GOVERNOR
    selector = keccak(text="propose(address[],uint256[],bytes[],string)")[:4].hex()
    assert propose["data"][:10] == "0x" + selector
    queue, execute = payload.queue_tx(GOVERNOR), payload.execute_tx(GOVERNOR)
    assert queue["data"][:10] == "0x" + keccak(text="queue(address[],uint256[],bytes[],bytes32)")[:4].hex()
    assert execute["data"][:10] == "0x" + keccak(text="execute(address[],uint256[],bytes[],bytes32)")[:4].hex()
    assert queue["data"][10:] == execute["data"][10:]  # same four arguments
    assert payload.description_hash.hex() in queue["data"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"targets": ()}, "targets: a proposal needs at least one call"),
        ({"values": (0, 0)}, "targets, values, calldatas: lengths differ (1, 2, 1)"),
        ({"targets": ("0x1234",)}, "targets: not an address: '0x1234'"),
        ({"values": (-1,)}, "values: must be non-negative integers (wei), got -1"),
        ({"calldatas": ("abcd",)}, "calldatas: must be 0x hex strings, got 'abcd'"),
        ({"description": "  "}, "description: must not be empty"),
    ],
)
def test_a_bad_payload_names_the_field(kwargs: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"targets": (REGISTRY,), "values": (0,), "calldatas": ("0x",), "description": "x"}
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)") + "$"):
        ProposalPayload(**{**fields, **kwargs})


def test_spec_mirrors_the_apps_seconds_in_blocks() -> None:
    spec = GovernorSpec.from_seconds(
        voting_delay_seconds=60,
        voting_period_seconds=3 * 24 * 3600,
        proposal_threshold=1000 * 10**18,
        quorum_fraction=Decimal("0.04"),
        vote_extension_seconds=24 * 3600,
        timelock_seconds=2 * 24 * 3600,
        guardian=GOVERNOR,
        seconds_per_block=12,
    )
    assert spec == GovernorSpec(
        voting_delay_blocks=5,
        voting_period_blocks=21_600,
        proposal_threshold=1000 * 10**18,
        quorum_numerator=400,
        late_quorum_extension_blocks=7_200,
        timelock_delay_seconds=172_800,
        guardian=GOVERNOR,
    )
    # partial blocks round up; voting lasts at least one block
    short = GovernorSpec.from_seconds(
        voting_delay_seconds=13, voting_period_seconds=0, proposal_threshold=0, quorum_fraction=Decimal("0.0125"),
        vote_extension_seconds=1, timelock_seconds=0, seconds_per_block=12,
    )  # fmt: skip
    assert (short.voting_delay_blocks, short.voting_period_blocks, short.late_quorum_extension_blocks) == (2, 1, 1)
    assert short.quorum_numerator == 125
    assert spec.as_dict()["proposal_threshold"] == str(1000 * 10**18)


def test_spec_refuses_values_the_governor_cannot_hold() -> None:
    with pytest.raises(ValueError, match="quorum_numerator must be an integer from 0 to 10000, got 10001"):
        GovernorSpec(quorum_numerator=10_001)
    with pytest.raises(ValueError, match="voting_period_blocks must be an integer from 1 to 4294967295, got 0"):
        GovernorSpec(voting_period_blocks=0)
    with pytest.raises(ValueError, match="guardian is not an address: 'nobody'"):
        GovernorSpec(guardian="nobody")
    with pytest.raises(ValueError, match=r"quorum_fraction 0.00001 is finer than 1/10000"):
        GovernorSpec.from_seconds(
            voting_delay_seconds=0, voting_period_seconds=60, proposal_threshold=0,
            quorum_fraction=Decimal("0.00001"), vote_extension_seconds=0, timelock_seconds=0,
        )  # fmt: skip

"""EIP-712 ballots: typed data per the governance spec, sign/recover, parity with Anvil's signer."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_account.signers.local import LocalAccount
from web3 import Web3

from chain.client import ChainClient
from chain.deploy import DemoAccounts, ProtocolAddresses
from chain.eip712 import (
    Ballot,
    BallotDomain,
    InvalidSignature,
    VoteSupport,
    ballot_digest,
    ballot_typed_data,
    recover_ballot_signer,
    sign_ballot,
    verify_ballot_signature,
)

REGISTRY = "0x" + "ab" * 20


@pytest.fixture
def voter(accounts: DemoAccounts) -> LocalAccount:
    return accounts.holders[3]


def make_ballot(signer: LocalAccount, **overrides: object) -> Ballot:
    fields: dict[str, object] = {
        "proposal_id": 42,
        "support": VoteSupport.FOR,
        "voter": signer.address,
        "nonce": 0,
    }
    return Ballot(**{**fields, **overrides})


def test_typed_data_follows_the_governor_ballot() -> None:
    ballot = Ballot(proposal_id=7, support=VoteSupport.ABSTAIN, voter="0x" + "11" * 20, nonce=3)
    typed = ballot_typed_data(ballot, BallotDomain(chain_id=31337, verifying_contract=REGISTRY))
    assert typed["primaryType"] == "Ballot"
    assert typed["domain"] == {
        "name": "RiskGov",
        "version": "1",
        "chainId": 31337,
        "verifyingContract": Web3.to_checksum_address(REGISTRY),
    }
    voter = Web3.to_checksum_address("0x" + "11" * 20)
    assert typed["message"] == {"proposalId": 7, "support": 2, "voter": voter, "nonce": 3}
    encoded_type = "Ballot(" + ",".join(f"{f['type']} {f['name']}" for f in typed["types"]["Ballot"]) + ")"
    # OpenZeppelin Governor 5's BALLOT_TYPEHASH string.
    assert encoded_type == "Ballot(uint256 proposalId,uint8 support,address voter,uint256 nonce)"


def test_digest_matches_an_independent_encoding(voter: LocalAccount) -> None:
    ballot = make_ballot(voter, proposal_id=2**200 + 1, nonce=5)
    domain = BallotDomain(chain_id=8453, verifying_contract=REGISTRY)
    domain_type = b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    separator = Web3.keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [Web3.keccak(domain_type), Web3.keccak(b"RiskGov"), Web3.keccak(b"1"), 8453, REGISTRY],
        )
    )
    ballot_type = Web3.keccak(b"Ballot(uint256 proposalId,uint8 support,address voter,uint256 nonce)")
    struct_hash = Web3.keccak(
        encode(
            ["bytes32", "uint256", "uint8", "address", "uint256"],
            [ballot_type, 2**200 + 1, 1, voter.address, 5],
        )
    )
    assert ballot_digest(ballot, domain) == Web3.keccak(b"\x19\x01" + separator + struct_hash)


def test_sign_and_recover_round_trip(voter: LocalAccount) -> None:
    ballot = make_ballot(voter)
    domain = BallotDomain(chain_id=31337, verifying_contract=REGISTRY)
    signature = sign_ballot(ballot, domain, voter.key)
    assert len(bytes.fromhex(signature[2:])) == 65
    assert recover_ballot_signer(ballot, domain, signature) == voter.address
    assert verify_ballot_signature(None, ballot, domain, signature)


@pytest.mark.parametrize(
    "change",
    [
        {"domain": BallotDomain(chain_id=1, verifying_contract=REGISTRY)},
        {"domain": BallotDomain(chain_id=31337, verifying_contract="0x" + "cd" * 20)},
        {"ballot": {"proposal_id": 43}},
        {"ballot": {"support": VoteSupport.AGAINST}},
        {"ballot": {"nonce": 1}},
    ],
    ids=["other-chain", "other-contract", "other-proposal", "other-support", "other-nonce"],
)
def test_a_signature_does_not_carry_over_to_another_ballot_or_domain(
    voter: LocalAccount, change: dict[str, object]
) -> None:
    domain = BallotDomain(chain_id=31337, verifying_contract=REGISTRY)
    signature = sign_ballot(make_ballot(voter), domain, voter.key)
    other_ballot = make_ballot(voter, **change.get("ballot", {}))
    other_domain = change.get("domain", domain)
    assert recover_ballot_signer(other_ballot, other_domain, signature) != voter.address
    assert not verify_ballot_signature(None, other_ballot, other_domain, signature)


def test_signer_other_than_the_voter_is_not_valid(voter: LocalAccount, accounts: DemoAccounts) -> None:
    domain = BallotDomain(chain_id=31337, verifying_contract=REGISTRY)
    ballot = make_ballot(voter)
    forged = sign_ballot(ballot, domain, accounts.holders[4].key)
    assert not verify_ballot_signature(None, ballot, domain, forged)


@pytest.mark.parametrize("signature", ["0x", "0x" + "00" * 64, "0x" + "00" * 65, "0x" + "ff" * 65])
def test_malformed_signatures_raise_invalid_signature(voter: LocalAccount, signature: str) -> None:
    domain = BallotDomain(chain_id=31337, verifying_contract=REGISTRY)
    with pytest.raises(InvalidSignature):
        recover_ballot_signer(make_ballot(voter), domain, signature)
    assert not verify_ballot_signature(None, make_ballot(voter), domain, signature)


@pytest.mark.parametrize(
    "overrides",
    [{"support": 3}, {"proposal_id": -1}, {"nonce": 2**256}, {"voter": "not-an-address"}],
)
def test_ballot_rejects_out_of_range_fields(voter: LocalAccount, overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        make_ballot(voter, **overrides)


def test_signature_equals_anvils_eth_sign_typed_data_v4(
    client: ChainClient, protocol: ProtocolAddresses, voter: LocalAccount
) -> None:
    """The node signs for its unlocked dev account; eth-account must produce the same bytes."""
    ballot = make_ballot(voter, proposal_id=123456789, support=VoteSupport.AGAINST, nonce=2)
    domain = BallotDomain(chain_id=client.chain_id, verifying_contract=protocol["registry"])
    from_node = client.rpc("eth_signTypedData_v4", voter.address, ballot_typed_data(ballot, domain))
    assert from_node == sign_ballot(ballot, domain, voter.key)
    assert recover_ballot_signer(ballot, domain, from_node) == voter.address

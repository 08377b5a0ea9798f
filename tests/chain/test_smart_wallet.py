"""SmartWallet: ERC-1271 signatures from its owner EOA and owner-only execution."""

from __future__ import annotations

import pytest
from eth_account.signers.local import LocalAccount
from web3.contract import Contract

from chain.client import ChainClient
from chain.deploy import DemoAccounts, ProtocolAddresses
from chain.eip712 import (
    Ballot,
    BallotDomain,
    VoteSupport,
    ballot_digest,
    is_valid_erc1271_signature,
    sign_ballot,
    verify_ballot_signature,
)
from tests.chain.helpers import reverts, wad

MAGIC = bytes.fromhex("1626ba7e")
INVALID = bytes.fromhex("ffffffff")


@pytest.fixture
def owner(accounts: DemoAccounts) -> LocalAccount:
    return accounts.holders[6]


@pytest.fixture
def wallet(client: ChainClient, owner: LocalAccount) -> Contract:
    return client.contract("SmartWallet", client.deploy("SmartWallet", owner.address, sender=owner))


@pytest.fixture
def domain(client: ChainClient, protocol: ProtocolAddresses) -> BallotDomain:
    return BallotDomain(chain_id=client.chain_id, verifying_contract=protocol["registry"])


def test_is_valid_signature_accepts_the_owner_only(
    wallet: Contract, owner: LocalAccount, accounts: DemoAccounts, domain: BallotDomain
) -> None:
    ballot = Ballot(proposal_id=1, support=VoteSupport.FOR, voter=wallet.address, nonce=0)
    digest = ballot_digest(ballot, domain)
    by_owner = bytes.fromhex(sign_ballot(ballot, domain, owner.key)[2:])
    by_other = bytes.fromhex(sign_ballot(ballot, domain, accounts.holders[7].key)[2:])
    assert wallet.functions.isValidSignature(digest, by_owner).call() == MAGIC
    assert wallet.functions.isValidSignature(digest, by_other).call() == INVALID
    assert wallet.functions.isValidSignature(digest, b"\x01" * 10).call() == INVALID  # malformed: no revert
    assert wallet.functions.isValidSignature(b"\x00" * 32, by_owner).call() == INVALID  # other digest


def test_contract_wallet_ballots_verify_through_erc1271(
    client: ChainClient, wallet: Contract, owner: LocalAccount, accounts: DemoAccounts, domain: BallotDomain
) -> None:
    ballot = Ballot(proposal_id=9, support=VoteSupport.AGAINST, voter=wallet.address, nonce=0)
    signature = sign_ballot(ballot, domain, owner.key)
    assert verify_ballot_signature(client.w3, ballot, domain, signature)
    assert not verify_ballot_signature(None, ballot, domain, signature)  # needs the chain for ERC-1271
    assert not verify_ballot_signature(client.w3, ballot, domain, sign_ballot(ballot, domain, accounts.holders[7].key))
    other_chain = BallotDomain(chain_id=1, verifying_contract=domain.verifying_contract)
    assert not verify_ballot_signature(client.w3, ballot, other_chain, signature)


def test_erc1271_check_on_an_eoa_is_false(client: ChainClient, owner: LocalAccount) -> None:
    assert not is_valid_erc1271_signature(client.w3, owner.address, b"\x00" * 32, b"\x00" * 65)


def test_owner_delegates_the_wallets_tokens(
    client: ChainClient, wallet: Contract, token: Contract, owner: LocalAccount, accounts: DemoAccounts
) -> None:
    client.transact(token.functions.mint(wallet.address, wad(700)), sender=accounts.deployer)
    delegate_call = token.encode_abi("delegate", args=[wallet.address])
    receipt = client.transact(wallet.functions.execute(token.address, 0, delegate_call), sender=owner)
    client.rpc("evm_mine")
    assert token.functions.getPastVotes(wallet.address, receipt["blockNumber"]).call() == wad(700)


def test_only_the_owner_executes_and_failures_bubble_up(
    client: ChainClient, wallet: Contract, token: Contract, owner: LocalAccount, accounts: DemoAccounts
) -> None:
    stranger = accounts.holders[7]
    call = token.encode_abi("delegate", args=[stranger.address])
    with reverts("NotOwner", caller=stranger.address):
        client.transact(wallet.functions.execute(token.address, 0, call), sender=stranger)
    mint = token.encode_abi("mint", args=[owner.address, 1])  # the wallet does not own the token
    with reverts("CallFailed"):
        client.transact(wallet.functions.execute(token.address, 0, mint), sender=owner)


def test_constructor_rejects_a_zero_owner(client: ChainClient, owner: LocalAccount) -> None:
    with reverts("ZeroAddress"):
        client.deploy("SmartWallet", "0x" + "00" * 20, sender=owner)

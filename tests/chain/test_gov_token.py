"""GovToken: owner minting, ERC20Votes delegation and checkpoints, EIP-2612 permits."""

from __future__ import annotations

from eth_account import Account
from web3 import Web3
from web3.contract import Contract

from chain.client import ChainClient
from chain.deploy import DemoAccounts
from tests.chain.helpers import reverts, wad

ZERO = "0x" + "00" * 20


def test_metadata_and_owner(token: Contract, accounts: DemoAccounts) -> None:
    assert token.functions.name().call() == "RiskGov Governance"
    assert token.functions.symbol().call() == "RGOV"
    assert token.functions.decimals().call() == 18
    assert token.functions.owner().call() == accounts.deployer.address
    assert token.functions.clock().call() == token.w3.eth.block_number  # block-number clock


def test_owner_mints(client: ChainClient, token: Contract, accounts: DemoAccounts) -> None:
    holder = accounts.holders[0].address
    client.transact(token.functions.mint(holder, wad(1000)), sender=accounts.deployer)
    assert token.functions.balanceOf(holder).call() == wad(1000)
    assert token.functions.totalSupply().call() == wad(1000)


def test_mint_by_non_owner_reverts(client: ChainClient, token: Contract, accounts: DemoAccounts) -> None:
    stranger = accounts.holders[0]
    with reverts("OwnableUnauthorizedAccount", account=stranger.address):
        client.transact(token.functions.mint(stranger.address, wad(1)), sender=stranger)


def test_mint_to_zero_address_reverts(client: ChainClient, token: Contract, accounts: DemoAccounts) -> None:
    with reverts("ZeroAddress"):
        client.transact(token.functions.mint(ZERO, wad(1)), sender=accounts.deployer)


def test_votes_count_only_after_delegation(client: ChainClient, token: Contract, accounts: DemoAccounts) -> None:
    holder = accounts.holders[0]
    client.transact(token.functions.mint(holder.address, wad(500)), sender=accounts.deployer)
    assert token.functions.getVotes(holder.address).call() == 0

    receipt = client.transact(token.functions.delegate(holder.address), sender=holder)
    delegated_at = receipt["blockNumber"]
    client.rpc("evm_mine")  # getPastVotes needs a block strictly in the past

    assert token.functions.getVotes(holder.address).call() == wad(500)
    assert token.functions.getPastVotes(holder.address, delegated_at).call() == wad(500)
    assert token.functions.getPastVotes(holder.address, delegated_at - 1).call() == 0
    assert token.functions.getPastTotalSupply(delegated_at).call() == wad(500)
    assert token.functions.delegates(holder.address).call() == holder.address


def test_past_votes_for_the_current_block_revert(client: ChainClient, token: Contract) -> None:
    now = client.block_number
    with reverts("ERC5805FutureLookup", timepoint=now, clock=now):
        client.call(token.functions.getPastVotes(ZERO, now))


def test_delegation_to_another_holder_and_transfers_move_votes(
    client: ChainClient, token: Contract, accounts: DemoAccounts
) -> None:
    alice, bob, carol = accounts.holders[:3]
    for holder, amount in ((alice, 300), (bob, 200)):
        client.transact(token.functions.mint(holder.address, wad(amount)), sender=accounts.deployer)
    client.transact(token.functions.delegate(carol.address), sender=alice)
    client.transact(token.functions.delegate(bob.address), sender=bob)
    before_transfer = client.block_number
    assert token.functions.getVotes(carol.address).call() == wad(300)
    assert token.functions.getVotes(alice.address).call() == 0

    client.transact(token.functions.transfer(bob.address, wad(100)), sender=alice)
    client.rpc("evm_mine")
    assert token.functions.getVotes(carol.address).call() == wad(200)
    assert token.functions.getVotes(bob.address).call() == wad(300)
    assert token.functions.getPastVotes(carol.address, before_transfer).call() == wad(300)


def _permit_signature(token: Contract, owner: Account, spender: str, value: int, deadline: int) -> tuple:
    chain_id = token.w3.eth.chain_id
    typed = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Permit": [
                {"name": "owner", "type": "address"},
                {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Permit",
        "domain": {
            "name": "RiskGov Governance",
            "version": "1",
            "chainId": chain_id,
            "verifyingContract": token.address,
        },
        "message": {
            "owner": owner.address,
            "spender": spender,
            "value": value,
            "nonce": token.functions.nonces(owner.address).call(),
            "deadline": deadline,
        },
    }
    signed = Account.sign_typed_data(owner.key, full_message=typed)
    return signed.v, Web3.to_bytes(signed.r).rjust(32, b"\0"), Web3.to_bytes(signed.s).rjust(32, b"\0")


def test_permit_sets_allowance_and_rejects_bad_signatures(
    client: ChainClient, token: Contract, accounts: DemoAccounts
) -> None:
    owner, spender, impostor = accounts.holders[:3]
    deadline = client.w3.eth.get_block("latest")["timestamp"] + 3600
    v, r, s = _permit_signature(token, owner, spender.address, wad(5), deadline)
    client.transact(token.functions.permit(owner.address, spender.address, wad(5), deadline, v, r, s), sender=spender)
    assert token.functions.allowance(owner.address, spender.address).call() == wad(5)

    v, r, s = _permit_signature(token, impostor, spender.address, wad(5), deadline)
    with reverts("ERC2612InvalidSigner", owner=owner.address):
        client.transact(
            token.functions.permit(owner.address, spender.address, wad(5), deadline, v, r, s), sender=spender
        )
    expired = deadline - 7200
    v, r, s = _permit_signature(token, owner, spender.address, wad(5), expired)
    with reverts("ERC2612ExpiredSignature", deadline=expired):
        client.transact(
            token.functions.permit(owner.address, spender.address, wad(5), expired, v, r, s), sender=spender
        )

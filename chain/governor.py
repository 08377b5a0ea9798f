"""RiskGovernor from Python: proposal payloads, reads, the ballots' EIP-712 domain and the vote relayer.

A proposal on chain is ``propose(targets, values, calldatas, description)``; for a parameter change the
targets are the registry and each calldata is exactly the registry's ``setParameters`` call
(:func:`chain.registry.registry_update_calldata`). Its id is the Governor's ``hashProposal``:
``uint256(keccak256(abi.encode(targets, values, calldatas, keccak256(description))))``, computed here
without a node. ``queue``, ``execute`` and ``cancel`` take the same four arguments with the description's hash.

Ballots are :mod:`chain.eip712` typed data under the Governor's own domain (read from ``eip712Domain()``) and
carry the voter's Governor nonce (``nonces(voter)``), so a signature collected off-chain is the one
``castVoteBySig`` / ``castVoteWithReasonAndParamsBySig`` accepts. :func:`relay_votes` submits them.

No Django here: every function takes a :class:`web3.Web3` and addresses.
"""

from __future__ import annotations

import math
import weakref
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from functools import cache
from typing import Any, Literal

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

from chain.artifacts import load_abi
from chain.client import reverts_decoded
from chain.eip712 import Ballot, BallotDomain
from chain.errors import ContractReverted
from chain.registry import registry_update_calldata
from chain.reverts import decode_revert, render_args

GOVERNOR_CONTRACT = "RiskGovernor"
TIMELOCK_CONTRACT = "RiskTimelock"
DEFAULT_BATCH_SIZE = 50
GAS_HEADROOM = 1.2
READ_CHUNK = 200  # calls per eth_call of multicall when reading or simulating


class GovernorState(IntEnum):
    """``IGovernor.ProposalState``, in the contract's order."""

    PENDING = 0
    ACTIVE = 1
    CANCELED = 2
    DEFEATED = 3
    SUCCEEDED = 4
    QUEUED = 5
    EXPIRED = 6
    EXECUTED = 7


@dataclass(frozen=True)
class Tally:
    """Votes (token wei) per side, as ``proposalVotes`` returns them."""

    against: int
    for_: int
    abstain: int

    @property
    def total(self) -> int:
        return self.against + self.for_ + self.abstain

    def as_dict(self) -> dict[str, int]:
        return {"against": self.against, "for": self.for_, "abstain": self.abstain}


# Payloads ---------------------------------------------------------------------------------------------------


def description_hash(description: str) -> bytes:
    """``keccak256(bytes(description))``, the ``descriptionHash`` of queue, execute and cancel."""
    return bytes(keccak(text=description))


def hash_proposal(
    targets: Sequence[str], values: Sequence[int], calldatas: Sequence[str | bytes], description_hash_: bytes
) -> int:
    """The Governor's ``hashProposal``: the proposal id of these arguments on any RiskGovernor."""
    encoded = abi_encode(
        ["address[]", "uint256[]", "bytes[]", "bytes32"],
        [
            [Web3.to_checksum_address(t) for t in targets],
            [int(v) for v in values],
            [bytes(HexBytes(c)) for c in calldatas],
            description_hash_,
        ],
    )
    return int.from_bytes(keccak(encoded), "big")


@cache
def _offline_governor() -> Contract:
    return Web3().eth.contract(abi=load_abi(GOVERNOR_CONTRACT))  # type: ignore[return-value]


@dataclass(frozen=True)
class ProposalPayload:
    """The arguments of ``propose``; calldatas are ``0x`` hex. Empty or unequal lists are refused, as the
    Governor refuses them (``GovernorInvalidProposalLength``)."""

    targets: tuple[str, ...]
    values: tuple[int, ...]
    calldatas: tuple[str, ...]
    description: str

    def __post_init__(self) -> None:
        if not self.targets:
            raise ValueError("targets: a proposal needs at least one call")
        if not len(self.targets) == len(self.values) == len(self.calldatas):
            raise ValueError(
                f"targets, values, calldatas: lengths differ ({len(self.targets)}, {len(self.values)}, "
                f"{len(self.calldatas)})"
            )
        for target in self.targets:
            if not Web3.is_address(target):
                raise ValueError(f"targets: not an address: {target!r}")
        for value in self.values:
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"values: must be non-negative integers (wei), got {value!r}")
        for calldata in self.calldatas:
            if not isinstance(calldata, str) or not calldata.startswith("0x"):
                raise ValueError(f"calldatas: must be 0x hex strings, got {calldata!r}")
            HexBytes(calldata)  # raises ValueError on bad hex
        if not self.description.strip():
            raise ValueError("description: must not be empty")

    @property
    def description_hash(self) -> bytes:
        return description_hash(self.description)

    @property
    def proposal_id(self) -> int:
        return hash_proposal(self.targets, self.values, self.calldatas, self.description_hash)

    def _args(self) -> list[Any]:
        return [
            [Web3.to_checksum_address(t) for t in self.targets],
            list(self.values),
            [bytes(HexBytes(c)) for c in self.calldatas],
        ]

    def _tx(self, governor: str, function: str, last: object) -> dict[str, str]:
        data = _offline_governor().encode_abi(function, args=[*self._args(), last])
        return {"to": Web3.to_checksum_address(governor), "data": str(data), "value": "0x0"}

    def propose_tx(self, governor: str) -> dict[str, str]:
        """The unsigned ``propose`` transaction ({to, data, value}) a wallet sends."""
        return self._tx(governor, "propose", self.description)

    def queue_tx(self, governor: str) -> dict[str, str]:
        return self._tx(governor, "queue", self.description_hash)

    def execute_tx(self, governor: str) -> dict[str, str]:
        return self._tx(governor, "execute", self.description_hash)

    def cancel_tx(self, governor: str) -> dict[str, str]:
        return self._tx(governor, "cancel", self.description_hash)

    def propose_call(self, governor: Contract) -> ContractFunction:
        return governor.functions.propose(*self._args(), self.description)

    def queue_call(self, governor: Contract) -> ContractFunction:
        return governor.functions.queue(*self._args(), self.description_hash)

    def execute_call(self, governor: Contract) -> ContractFunction:
        return governor.functions.execute(*self._args(), self.description_hash)

    def cancel_call(self, governor: Contract) -> ContractFunction:
        return governor.functions.cancel(*self._args(), self.description_hash)

    def as_json(self) -> dict[str, Any]:
        """For a JSON column or the page: values as decimal strings, the id and description hash in hex too."""
        return {
            "targets": [Web3.to_checksum_address(t) for t in self.targets],
            "values": [str(v) for v in self.values],
            "calldatas": list(self.calldatas),
            "description": self.description,
            "description_hash": "0x" + self.description_hash.hex(),
            "proposal_id": str(self.proposal_id),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProposalPayload:
        """The inverse of :meth:`as_json` (the id and hash are recomputed, not trusted)."""
        return cls(
            targets=tuple(data["targets"]),
            values=tuple(int(v) for v in data["values"]),
            calldatas=tuple(data["calldatas"]),
            description=data["description"],
        )


def registry_update_payload(
    registry: str, changes: Sequence[tuple[str, Mapping[str, int | str]]], description: str
) -> ProposalPayload:
    """A proposal calling the registry's ``setParameters`` once per (market symbol, targets) change, in order.

    ``targets`` are as :func:`chain.registry.registry_targets` returns them (1e18 integers by ABI name).
    """
    if not changes:
        raise ValueError("changes: a parameter proposal needs at least one market")
    address = Web3.to_checksum_address(registry)
    return ProposalPayload(
        targets=tuple(address for _ in changes),
        values=tuple(0 for _ in changes),
        calldatas=tuple(registry_update_calldata(symbol, targets) for symbol, targets in changes),
        description=description,
    )


# Reads ------------------------------------------------------------------------------------------------------


# Building a web3 contract from the Governor's ABI takes tens of milliseconds: one per connection and address.
_CONTRACTS: weakref.WeakKeyDictionary[Web3, dict[tuple[str, str], Contract]] = weakref.WeakKeyDictionary()


def _contract(w3: Web3, name: str, address: str) -> Contract:
    cache = _CONTRACTS.setdefault(w3, {})
    key = (name, Web3.to_checksum_address(address))
    if key not in cache:
        cache[key] = w3.eth.contract(address=key[1], abi=load_abi(name))
    return cache[key]


def governor_contract(w3: Web3, address: str) -> Contract:
    return _contract(w3, GOVERNOR_CONTRACT, address)


def timelock_contract(w3: Web3, address: str) -> Contract:
    return _contract(w3, TIMELOCK_CONTRACT, address)


def _read(function: ContractFunction) -> Any:
    with reverts_decoded(function.fn_name):
        return function.call()


def governor_domain(w3: Web3, governor: str) -> BallotDomain:
    """The ballots' EIP-712 domain as the Governor reports it (ERC-5267 ``eip712Domain()``)."""
    _fields, name, version, chain_id, verifying_contract, _salt, _extensions = _read(
        governor_contract(w3, governor).functions.eip712Domain()
    )
    return BallotDomain(chain_id=int(chain_id), verifying_contract=verifying_contract, name=name, version=version)


def proposal_state(w3: Web3, governor: str, proposal_id: int) -> GovernorState:
    """``state(proposalId)``; raises ContractReverted ``GovernorNonexistentProposal`` for an unknown id."""
    return GovernorState(_read(governor_contract(w3, governor).functions.state(proposal_id)))


def proposal_votes(w3: Web3, governor: str, proposal_id: int) -> Tally:
    against, for_, abstain = _read(governor_contract(w3, governor).functions.proposalVotes(proposal_id))
    return Tally(against=int(against), for_=int(for_), abstain=int(abstain))


def vote_nonce(w3: Web3, governor: str, voter: str) -> int:
    """The nonce the voter's next ballot must carry (the Governor's ``nonces``)."""
    return int(_read(governor_contract(w3, governor).functions.nonces(Web3.to_checksum_address(voter))))


def has_voted(w3: Web3, governor: str, proposal_id: int, voter: str) -> bool:
    return bool(_read(governor_contract(w3, governor).functions.hasVoted(proposal_id, Web3.to_checksum_address(voter))))


def proposal_snapshot(w3: Web3, governor: str, proposal_id: int) -> int:
    """The block whose votes count (0 for an unknown id)."""
    return int(_read(governor_contract(w3, governor).functions.proposalSnapshot(proposal_id)))


def proposal_deadline(w3: Web3, governor: str, proposal_id: int) -> int:
    """The last block of voting, a late-quorum extension included (0 for an unknown id)."""
    return int(_read(governor_contract(w3, governor).functions.proposalDeadline(proposal_id)))


def proposal_eta(w3: Web3, governor: str, proposal_id: int) -> int:
    """Unix time from which a queued proposal may execute (0 when not queued)."""
    return int(_read(governor_contract(w3, governor).functions.proposalEta(proposal_id)))


def quorum_at(w3: Web3, governor: str, block: int) -> int:
    """Votes (wei) For + Abstain must reach for a proposal whose snapshot is ``block``."""
    return int(_read(governor_contract(w3, governor).functions.quorum(block)))


# Relaying signed ballots ------------------------------------------------------------------------------------

RelayStatus = Literal["counted", "already_counted", "reverted", "skipped"]


@dataclass(frozen=True)
class SignedBallot:
    """A ballot and the voter's 65-byte signature (``0x`` hex) under the Governor's domain."""

    ballot: Ballot
    signature: str


@dataclass
class RelayResult:
    """What happened to one ballot.

    - ``counted``: cast on chain in ``tx_hash`` (``weight`` from its VoteCast event). ``gas_used`` is the
      transaction's gas, or in a multicall of n ballots the transaction's gas divided by n;
    - ``already_counted``: the voter has already voted on the proposal on chain (or earlier in this batch),
      so nothing was sent;
    - ``reverted``: the Governor refuses it (simulated before sending, or a mined transaction with status 0);
      ``error`` is the custom error (``GovernorInvalidSignature``, ``GovernorUnexpectedProposalState``…), ``message``
      the rendered reason;
    - ``skipped``: its nonce is ahead of the voter's next nonce and no ballot in the batch fills the gap.
    """

    ballot: Ballot
    status: RelayStatus = "skipped"
    tx_hash: str = ""
    gas_used: int | None = None
    block_number: int | None = None
    weight: int | None = None
    error: str = ""
    error_args: dict[str, Any] = field(default_factory=dict)
    message: str = ""


# The relay encodes and decodes its few calls with eth_abi directly: web3's contract helpers validate the
# Governor's whole ABI on every call, which costs more than the node's answer.
_CAST = "castVoteBySig(uint256,uint8,address,bytes)"
_CAST_EXTENDED = "castVoteWithReasonAndParamsBySig(uint256,uint8,address,string,bytes,bytes)"
_VOTE_CAST = "0x" + keccak(text="VoteCast(address,uint256,uint8,uint256,string)").hex()
_VOTE_CAST_WITH_PARAMS = "0x" + keccak(text="VoteCastWithParams(address,uint256,uint8,uint256,string,bytes)").hex()


@cache
def _selector(signature: str) -> bytes:
    return bytes(keccak(text=signature)[:4])


def _encode(signature: str, types: list[str], args: list[Any]) -> bytes:
    return _selector(signature) + abi_encode(types, args)


def _cast_data(signed: SignedBallot) -> bytes:
    """Calldata casting ``signed``: ``castVoteBySig``, or with a reason ``castVoteWithReasonAndParamsBySig``."""
    ballot, signature = signed.ballot, bytes(HexBytes(signed.signature))
    voter = Web3.to_checksum_address(ballot.voter)
    if ballot.reason:
        return _encode(_CAST_EXTENDED, ["uint256", "uint8", "address", "string", "bytes", "bytes"],
                       [ballot.proposal_id, int(ballot.support), voter, ballot.reason, b"", signature])  # fmt: skip
    return _encode(_CAST, ["uint256", "uint8", "address", "bytes"],
                   [ballot.proposal_id, int(ballot.support), voter, signature])  # fmt: skip


def _multicall_data(calls: list[bytes]) -> bytes:
    return _encode("multicall(bytes[])", ["bytes[]"], [calls])


def _eth_call(w3: Web3, to: str, sender: str, data: bytes, label: str) -> bytes:
    with reverts_decoded(label):
        return bytes(w3.eth.call({"to": Web3.to_checksum_address(to), "from": sender, "data": HexBytes(data)}))


def _multicall_view(w3: Web3, governor: str, sender: str, calls: list[bytes]) -> list[bytes]:
    """Many calls of the Governor in one ``eth_call`` of its ``multicall``; raises ContractReverted if any reverts."""
    results: list[bytes] = []
    for start in range(0, len(calls), READ_CHUNK):
        raw = _eth_call(w3, governor, sender, _multicall_data(calls[start : start + READ_CHUNK]), "multicall")
        results += list(abi_decode(["bytes[]"], raw)[0])
    return results


def _simulate(w3: Web3, governor: str, sender: str, signed: SignedBallot) -> ContractReverted | None:
    """None when casting ``signed`` would succeed now; else the decoded revert."""
    try:
        _eth_call(w3, governor, sender, _cast_data(signed), "castVoteBySig")
    except ContractReverted as error:
        return error
    return None


def _reverted(result: RelayResult, error: ContractReverted) -> None:
    result.status = "reverted"
    result.error = error.error
    result.error_args = dict(error.args_by_name)
    result.message = f"{error.error}({render_args(error.args_by_name)})"


class _Sender:
    """Signs and sends the relayer's transactions to the Governor with consecutive nonces and one fee quote."""

    def __init__(self, w3: Web3, account: LocalAccount, governor: str) -> None:
        self.w3 = w3
        self.account = account
        self.governor = Web3.to_checksum_address(governor)
        self.nonce = int(w3.eth.get_transaction_count(account.address, "pending"))
        self.chain_id = int(w3.eth.chain_id)
        base_fee = int(w3.eth.get_block("latest").get("baseFeePerGas", 0))
        self.priority_fee = int(w3.eth.max_priority_fee)
        self.max_fee = 2 * base_fee + self.priority_fee

    def send(self, data: bytes, label: str) -> str:
        """Send ``data`` to the Governor; a revert at gas estimation raises ContractReverted."""
        tx: dict[str, Any] = {
            "from": self.account.address,
            "to": self.governor,
            "data": HexBytes(data),
            "value": 0,
            "chainId": self.chain_id,
        }
        with reverts_decoded(label):
            tx["gas"] = math.ceil(self.w3.eth.estimate_gas(tx, "pending") * GAS_HEADROOM)  # type: ignore[arg-type]
        tx.update(nonce=self.nonce, maxFeePerGas=self.max_fee, maxPriorityFeePerGas=self.priority_fee, type=2)
        del tx["from"]
        signed = self.account.sign_transaction(tx)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        self.nonce += 1
        return HexBytes(tx_hash).to_0x_hex()

    def receipt(self, tx_hash: str, timeout: float) -> TxReceipt:
        return self.w3.eth.wait_for_transaction_receipt(HexBytes(tx_hash), timeout=timeout, poll_latency=0.02)


def _weights(governor: str, receipt: TxReceipt) -> dict[tuple[str, int], int]:
    """(voter, proposal id) -> weight of the receipt's VoteCast / VoteCastWithParams events of the Governor."""
    weights: dict[tuple[str, int], int] = {}
    for log in receipt["logs"]:
        topics = [HexBytes(t).to_0x_hex() for t in log["topics"]]
        if log["address"].lower() != governor.lower() or not topics:
            continue
        if topics[0] == _VOTE_CAST:
            proposal_id, _support, weight, _reason = abi_decode(["uint256", "uint8", "uint256", "string"],
                                                                bytes(log["data"]))  # fmt: skip
        elif topics[0] == _VOTE_CAST_WITH_PARAMS:
            proposal_id, _support, weight, _reason, _params = abi_decode(
                ["uint256", "uint8", "uint256", "string", "bytes"], bytes(log["data"])
            )
        else:
            continue
        voter = Web3.to_checksum_address("0x" + topics[1][-40:])
        weights[(voter, int(proposal_id))] = int(weight)
    return weights


@dataclass
class _Relay:
    """One relay's state: each voter's ballots in nonce order, the voters' next nonces, what is counted."""

    w3: Web3
    governor: str
    sender: _Sender
    ballots: Sequence[SignedBallot]
    results: list[RelayResult]
    queues: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    next_nonce: dict[str, int] = field(default_factory=dict)
    counted: set[tuple[str, int]] = field(default_factory=set)

    @property
    def address(self) -> str:
        return str(self.sender.account.address)

    def read_chain(self) -> None:
        """Every voter's next nonce and whether each ballot's voter has voted on its proposal: one multicall."""
        voters = list(self.queues)
        pairs = sorted({(Web3.to_checksum_address(b.ballot.voter), b.ballot.proposal_id) for b in self.ballots})
        calls = [_encode("nonces(address)", ["address"], [v]) for v in voters]
        calls += [_encode("hasVoted(uint256,address)", ["uint256", "address"], [pid, v]) for v, pid in pairs]
        replies = _multicall_view(self.w3, self.governor, self.address, calls)
        words = [int.from_bytes(raw[:32], "big") for raw in replies]
        self.next_nonce = dict(zip(voters, words[: len(voters)], strict=True))
        self.counted = {pair for pair, voted in zip(pairs, words[len(voters) :], strict=True) if voted}

    def candidates(self) -> list[int]:
        """Per voter, the next ballot to try: ballots on proposals already voted on become ``already_counted``;
        one ahead of the voter's nonce waits for a later round."""
        chosen: list[int] = []
        for voter, queue in self.queues.items():
            while queue:
                index = queue[0]
                ballot = self.ballots[index].ballot
                if (voter, ballot.proposal_id) in self.counted:
                    result = self.results[index]
                    result.status, result.message = "already_counted", "the voter's vote is already counted on chain"
                    queue.pop(0)
                    continue
                if ballot.nonce <= self.next_nonce[voter]:  # a stale one is refused by the simulation
                    chosen.append(queue.pop(0))
                break
        return chosen

    def accepted(self, indexes: list[int]) -> list[int]:
        """The ballots the Governor would accept now: the whole chunk in one simulated multicall, and one by one
        only when that reverts (the refused ones become ``reverted`` with the decoded reason)."""
        try:
            _multicall_view(self.w3, self.governor, self.address, [_cast_data(self.ballots[i]) for i in indexes])
        except ContractReverted:
            pass
        else:
            return indexes
        good = []
        for index in indexes:
            error = _simulate(self.w3, self.governor, self.address, self.ballots[index])
            if error is None:
                good.append(index)
                continue
            result = self.results[index]
            _reverted(result, error)
            # castVoteBySig signs over the voter's current nonce, so a used one shows as an invalid signature
            expected = self.next_nonce[Web3.to_checksum_address(result.ballot.voter)]
            if result.ballot.nonce < expected:
                result.message += f": signed with nonce {result.ballot.nonce}, already used (the next is {expected})"
        return good

    def mark_counted(self, indexes: list[int]) -> None:
        for index in indexes:
            if self.results[index].status == "counted":
                ballot = self.ballots[index].ballot
                voter = Web3.to_checksum_address(ballot.voter)
                self.next_nonce[voter] += 1
                self.counted.add((voter, ballot.proposal_id))

    def mark_gaps(self) -> None:
        """Ballots still queued wait behind a nonce no ballot of the batch used: ``skipped``."""
        for voter, queue in self.queues.items():
            for index in queue:
                nonce = self.ballots[index].ballot.nonce
                self.results[index].status = "skipped"
                self.results[
                    index
                ].message = f"nonce {nonce} is ahead of the voter's next Governor nonce {self.next_nonce[voter]}"


def relay_votes(
    w3: Web3,
    governor: str,
    relayer_key: str | bytes | LocalAccount,
    ballots: Sequence[SignedBallot],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    multicall: bool = True,
    receipt_timeout: float = 120.0,
) -> list[RelayResult]:
    """Submit signed ballots to ``governor`` from the relayer account; one result per ballot, input order.

    Idempotent: a ballot whose voter has already voted on its proposal is recognised (``hasVoted``) and not
    sent again. Each voter's ballots go in nonce order (the Governor's nonces only accept the next one), in
    rounds: every round takes, per voter, the ballot with the next nonce. A round's ballots go ``batch_size``
    at a time: each batch is first simulated (one ``eth_call`` of ``multicall``; ballot by ballot only if that
    reverts, so one bad ballot never takes a batch down), then sent as one ``multicall`` transaction (or, with
    ``multicall=False``, one transaction per ballot, all sent before any receipt is awaited).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if not ballots:
        return []
    account = relayer_key if isinstance(relayer_key, LocalAccount) else Account.from_key(relayer_key)
    address = Web3.to_checksum_address(governor)
    relay = _Relay(
        w3=w3,
        governor=address,
        sender=_Sender(w3, account, address),
        ballots=ballots,
        results=[RelayResult(ballot=signed.ballot) for signed in ballots],
    )
    for index, signed in enumerate(ballots):
        relay.queues[Web3.to_checksum_address(signed.ballot.voter)].append(index)
    for queue in relay.queues.values():
        queue.sort(key=lambda i: (ballots[i].ballot.nonce, i))
    relay.read_chain()
    while chosen := relay.candidates():
        for start in range(0, len(chosen), batch_size):
            batch = relay.accepted(chosen[start : start + batch_size])
            if not batch:
                continue
            send = _send_multicall if multicall and len(batch) > 1 else _send_each
            send(relay.sender, ballots, relay.results, batch, receipt_timeout)
        relay.mark_counted(chosen)
    relay.mark_gaps()
    return relay.results


def _counted(result: RelayResult, receipt: TxReceipt, weights: dict[tuple[str, int], int], gas: int) -> None:
    result.status = "counted"
    result.tx_hash = HexBytes(receipt["transactionHash"]).to_0x_hex()
    result.block_number = int(receipt["blockNumber"])
    result.gas_used = gas
    result.weight = weights.get((Web3.to_checksum_address(result.ballot.voter), result.ballot.proposal_id))


def _send_each(
    sender: _Sender, ballots: Sequence[SignedBallot], results: list[RelayResult], batch: list[int], timeout: float
) -> None:
    sent: list[tuple[int, str]] = []
    for index in batch:
        try:
            sent.append((index, sender.send(_cast_data(ballots[index]), "castVoteBySig")))
        except ContractReverted as error:  # the state changed since the simulation
            _reverted(results[index], error)
    for index, tx_hash in sent:
        receipt = sender.receipt(tx_hash, timeout)
        if receipt["status"] == 1:
            _counted(results[index], receipt, _weights(sender.governor, receipt), int(receipt["gasUsed"]))
        else:
            result = results[index]
            result.status, result.tx_hash, result.error = "reverted", tx_hash, "TransactionFailed"
            result.gas_used = int(receipt["gasUsed"])
            result.block_number = int(receipt["blockNumber"])
            result.message = f"transaction {tx_hash} reverted on chain (receipt status 0)"


def _send_multicall(
    sender: _Sender, ballots: Sequence[SignedBallot], results: list[RelayResult], batch: list[int], timeout: float
) -> None:
    try:
        tx_hash = sender.send(_multicall_data([_cast_data(ballots[index]) for index in batch]), "multicall")
    except ContractReverted:
        _send_each(sender, ballots, results, batch, timeout)  # find the one that fails
        return
    receipt = sender.receipt(tx_hash, timeout)
    if receipt["status"] != 1:
        _send_each(sender, ballots, results, batch, timeout)
        return
    weights = _weights(sender.governor, receipt)
    share = int(receipt["gasUsed"]) // len(batch)
    for index in batch:
        _counted(results[index], receipt, weights, share)


def revert_reason(data: str | bytes | None) -> str:
    """A human rendering of revert data, e.g. ``TimelockUnexpectedOperationState(operationId=…)``."""
    decoded = decode_revert(data)
    return f"{decoded.error}({render_args(decoded.args)})" if decoded else "unknown revert"


__all__ = [
    "GovernorState",
    "ProposalPayload",
    "RelayResult",
    "SignedBallot",
    "Tally",
    "description_hash",
    "governor_contract",
    "governor_domain",
    "has_voted",
    "hash_proposal",
    "proposal_deadline",
    "proposal_eta",
    "proposal_snapshot",
    "proposal_state",
    "proposal_votes",
    "quorum_at",
    "registry_update_payload",
    "relay_votes",
    "revert_reason",
    "timelock_contract",
    "vote_nonce",
]

"""EIP-712 typed data for governance ballots.

Ballots are OpenZeppelin Governor 5's typed data under the domain
``{name: "RiskGov", version: "1", chainId, verifyingContract}``, where ``verifyingContract`` is the
deployed ``RiskParameterRegistry``: ``Ballot(uint256 proposalId,uint8 support,address voter,uint256 nonce)``
for a vote without a reason, and ``ExtendedBallot(uint256 proposalId,uint8 support,address voter,uint256
nonce,string reason,bytes params)`` (``params`` empty) when the voter gives a reason, so the reason is signed
too. ``support``: 0 Against, 1 For, 2 Abstain; ``nonce``: the voter's next nonce (it only increases, as
OpenZeppelin's ``Nonces``). The builders here produce exactly what a wallet receives through
``eth_signTypedData_v4``.

Recovery accepts only canonical signatures, as OpenZeppelin's ``ECDSA.tryRecover`` does: 65 bytes,
``s`` in the lower half of the curve order and ``v`` 27 or 28. A malleated (high-s) copy of a valid
signature, or one carrying the bare recovery id (``v`` 0 or 1), is refused, so every stored ballot
verifies with standard tools (ethers v6 refuses high-s).
"""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import coincurve
from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_hash.auto import keccak
from eth_typing import ChecksumAddress
from eth_utils import is_address
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import Web3Exception

DOMAIN_NAME = "RiskGov"
DOMAIN_VERSION = "1"
UINT256_MAX = 2**256 - 1
ERC1271_MAGIC_VALUE = bytes.fromhex("1626ba7e")
SIGNATURE_LENGTH = 65  # r (32 bytes) ‖ s (32 bytes) ‖ v (1 byte)
RECOVERY_ID_AT = 64  # the byte offset of v
ETHEREUM_V_OFFSET = 27  # Ethereum signatures carry v = 27 + recovery id
CANONICAL_V = (27, 28)
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SECP256K1_HALF_N = SECP256K1_N // 2  # 0x7FFF…5D576E7357A4501DDFE92F46681B20A0, OpenZeppelin ECDSA's bound on s

EIP712_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
BALLOT_TYPE = [
    {"name": "proposalId", "type": "uint256"},
    {"name": "support", "type": "uint8"},
    {"name": "voter", "type": "address"},
    {"name": "nonce", "type": "uint256"},
]
EXTENDED_BALLOT_TYPE = [
    *BALLOT_TYPE,
    {"name": "reason", "type": "string"},
    {"name": "params", "type": "bytes"},
]

_ERC1271_ABI = [
    {
        "name": "isValidSignature",
        "type": "function",
        "stateMutability": "view",
        "inputs": [{"name": "hash", "type": "bytes32"}, {"name": "signature", "type": "bytes"}],
        "outputs": [{"name": "magicValue", "type": "bytes4"}],
    }
]


class VoteSupport(IntEnum):
    """Governor ``support`` values."""

    AGAINST = 0
    FOR = 1
    ABSTAIN = 2


class InvalidSignature(ValueError):
    """The signature is malformed or cannot be recovered."""

    code = "invalid_signature"


class NonCanonicalSignature(InvalidSignature):
    """A signature OpenZeppelin's ECDSA refuses: ``s`` above n/2 or ``v`` not 27/28."""

    code = "non_canonical_signature"


@dataclass(frozen=True)
class Ballot:
    """One vote: ``proposal_id`` (public numeric id), ``support`` (0/1/2), ``voter``, ``nonce`` and an
    optional ``reason``; with a reason it is signed as ``ExtendedBallot`` (``params`` empty), else as ``Ballot``."""

    proposal_id: int
    support: int
    voter: str
    nonce: int
    reason: str = ""

    @property
    def primary_type(self) -> str:
        return "ExtendedBallot" if self.reason else "Ballot"

    def __post_init__(self) -> None:
        if not 0 <= self.proposal_id <= UINT256_MAX:
            raise ValueError(f"proposal_id out of uint256 range: {self.proposal_id}")
        if self.support not in tuple(VoteSupport):
            raise ValueError(f"support must be 0 (Against), 1 (For) or 2 (Abstain), got {self.support}")
        if not is_address(self.voter):
            raise ValueError(f"voter is not an address: {self.voter!r}")
        if not 0 <= self.nonce <= UINT256_MAX:
            raise ValueError(f"nonce out of uint256 range: {self.nonce}")


@dataclass(frozen=True)
class BallotDomain:
    """EIP-712 domain of RiskGov ballots."""

    chain_id: int
    verifying_contract: str
    name: str = DOMAIN_NAME
    version: str = DOMAIN_VERSION

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "chainId": self.chain_id,
            "verifyingContract": Web3.to_checksum_address(self.verifying_contract),
        }

    def separator(self) -> bytes:
        """The domain separator ``hashStruct(EIP712Domain)``."""
        return domain_separator(
            name=self.name, version=self.version, chain_id=self.chain_id, verifying_contract=self.verifying_contract
        )


def ballot_typed_data(ballot: Ballot, domain: BallotDomain) -> dict[str, Any]:
    """Full typed-data document (types, primaryType, domain, message) as sent to ``eth_signTypedData_v4``."""
    message: dict[str, Any] = {
        "proposalId": ballot.proposal_id,
        "support": int(ballot.support),
        "voter": Web3.to_checksum_address(ballot.voter),
        "nonce": ballot.nonce,
    }
    if ballot.reason:
        return {
            "types": {"EIP712Domain": EIP712_DOMAIN_TYPE, "ExtendedBallot": EXTENDED_BALLOT_TYPE},
            "primaryType": "ExtendedBallot",
            "domain": domain.as_dict(),
            "message": {**message, "reason": ballot.reason, "params": "0x"},
        }
    return {
        "types": {"EIP712Domain": EIP712_DOMAIN_TYPE, "Ballot": BALLOT_TYPE},
        "primaryType": "Ballot",
        "domain": domain.as_dict(),
        "message": message,
    }


def ballot_signable(ballot: Ballot, domain: BallotDomain) -> SignableMessage:
    return encode_typed_data(full_message=ballot_typed_data(ballot, domain))


def ballot_digest(ballot: Ballot, domain: BallotDomain) -> bytes:
    """The 32-byte EIP-712 hash ``keccak256(0x1901 ‖ domainSeparator ‖ structHash)``.

    This is what ERC-1271 wallets receive in ``isValidSignature``.
    """
    return ballot_digest_fast(
        domain.separator(),
        proposal_id=ballot.proposal_id,
        support=int(ballot.support),
        voter=ballot.voter,
        nonce=ballot.nonce,
        reason=ballot.reason,
    )


def sign_ballot(ballot: Ballot, domain: BallotDomain, private_key: str | bytes) -> str:
    """65-byte ``r ‖ s ‖ v`` signature as ``0x`` hex, identical to a wallet's ``eth_signTypedData_v4``."""
    signed = Account.sign_message(ballot_signable(ballot, domain), private_key=private_key)
    return HexBytes(signed.signature).to_0x_hex()


def recover_ballot_signer(ballot: Ballot, domain: BallotDomain, signature: str | bytes) -> ChecksumAddress:
    """The EOA that produced ``signature``; raises :class:`InvalidSignature` when it cannot be recovered and
    :class:`NonCanonicalSignature` for a high-s or v ∉ {27, 28} signature."""
    raw = HexBytes(signature)
    defect = signature_defect(bytes(raw))
    if defect is not None:
        raise (NonCanonicalSignature if len(raw) == SIGNATURE_LENGTH else InvalidSignature)(defect)
    signer = recover_address(ballot_digest(ballot, domain), bytes(raw))
    if signer is None:
        raise InvalidSignature("signature cannot be recovered")
    return Web3.to_checksum_address(signer)


def is_valid_erc1271_signature(w3: Web3, wallet: str, digest: bytes, signature: str | bytes) -> bool:
    """Ask contract wallet ``wallet`` whether ``signature`` is valid for ``digest`` (ERC-1271).

    False when the address has no code, the call reverts, or it returns anything but ``0x1626ba7e``.
    """
    address = Web3.to_checksum_address(wallet)
    if not w3.eth.get_code(address):
        return False
    contract = w3.eth.contract(address=address, abi=_ERC1271_ABI)
    try:
        result = contract.functions.isValidSignature(digest, HexBytes(signature)).call()
    except (Web3Exception, ValueError):
        # a reverting wallet (ContractLogicError), a reply that is not a bytes4 (BadFunctionCallOutput), any
        # other JSON-RPC error of the call, or a signature that is not hex: the signature is not validated
        return False
    return bytes(result) == ERC1271_MAGIC_VALUE


def verify_ballot_signature(w3: Web3 | None, ballot: Ballot, domain: BallotDomain, signature: str | bytes) -> bool:
    """True when ``ballot.voter`` signed: EOA recovery first, then ERC-1271 if ``w3`` is given.

    Does not check proposal state, nonce or voting power — that is governance logic.
    """
    try:
        if recover_ballot_signer(ballot, domain, signature) == Web3.to_checksum_address(ballot.voter):
            return True
    except InvalidSignature:
        pass  # contract wallets may use signature formats an EOA cannot produce
    if w3 is None:
        return False
    return is_valid_erc1271_signature(w3, ballot.voter, ballot_digest(ballot, domain), signature)


# Hashing and recovery without eth-account's typed-data builder: the domain separator is hashed once per
# proposal and recovery calls libsecp256k1 (coincurve) directly, about 50 µs a ballot, so recounts of
# many votes stay fast. Anything this path cannot confirm (a contract wallet) goes through ERC-1271.
_DOMAIN_TYPEHASH = keccak(b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
_BALLOT_TYPEHASH = keccak(b"Ballot(uint256 proposalId,uint8 support,address voter,uint256 nonce)")
_EXTENDED_BALLOT_TYPEHASH = keccak(
    b"ExtendedBallot(uint256 proposalId,uint8 support,address voter,uint256 nonce,string reason,bytes params)"
)
_EMPTY_PARAMS_HASH = keccak(b"")


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _address_word(address: str) -> bytes:
    return bytes.fromhex(address[2:] if address.startswith(("0x", "0X")) else address).rjust(32, b"\x00")


def domain_separator(*, name: str, version: str, chain_id: int, verifying_contract: str) -> bytes:
    return keccak(
        _DOMAIN_TYPEHASH
        + keccak(name.encode())
        + keccak(version.encode())
        + _word(chain_id)
        + _address_word(verifying_contract)
    )


def ballot_digest_fast(
    separator: bytes, *, proposal_id: int, support: int, voter: str, nonce: int, reason: str = ""
) -> bytes:
    """keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(Ballot)), or of ExtendedBallot (empty params) with a reason."""
    fields = _word(proposal_id) + _word(support) + _address_word(voter) + _word(nonce)
    if reason:
        struct_hash = keccak(_EXTENDED_BALLOT_TYPEHASH + fields + keccak(reason.encode()) + _EMPTY_PARAMS_HASH)
    else:
        struct_hash = keccak(_BALLOT_TYPEHASH + fields)
    return keccak(b"\x19\x01" + separator + struct_hash)


def personal_message_digest(text: str) -> bytes:
    """The EIP-191 hash ``personal_sign`` signs: keccak256("\\x19Ethereum Signed Message:\\n" ‖ len ‖ message)."""
    data = text.encode()
    return keccak(b"\x19Ethereum Signed Message:\n" + str(len(data)).encode() + data)


def signature_defect(signature: bytes) -> str | None:
    """Why OpenZeppelin's ``ECDSA.tryRecover`` would refuse `signature` before recovering, or None.

    65 bytes r ‖ s ‖ v; ``s`` at most n/2 (the low-s form, EIP-2) and ``v`` 27 or 28.
    """
    if len(signature) != SIGNATURE_LENGTH:
        return f"signature must be {SIGNATURE_LENGTH} bytes (r ‖ s ‖ v), got {len(signature)}"
    if int.from_bytes(signature[32:RECOVERY_ID_AT], "big") > SECP256K1_HALF_N:
        return "signature is not canonical: s is in the upper half of the curve order (sign again: wallets give low s)"
    if signature[RECOVERY_ID_AT] not in CANONICAL_V:
        return f"signature is not canonical: v must be 27 or 28, got {signature[RECOVERY_ID_AT]}"
    return None


def canonical_form(signature: bytes) -> bytes | None:
    """The canonical signature equivalent to a high-s or v ∈ {0, 1} one (what its signer produced), or None.

    Lets a caller tell "the voter's own signature, malleated" from a forgery without asking the chain.
    """
    if len(signature) != SIGNATURE_LENGTH:
        return None
    r, s, v = signature[:32], int.from_bytes(signature[32:RECOVERY_ID_AT], "big"), signature[RECOVERY_ID_AT]
    recovery_id = v - ETHEREUM_V_OFFSET if v >= ETHEREUM_V_OFFSET else v
    if recovery_id not in (0, 1) or not 0 < s < SECP256K1_N:
        return None
    if s > SECP256K1_HALF_N:
        s, recovery_id = SECP256K1_N - s, 1 - recovery_id
    return r + s.to_bytes(32, "big") + bytes([recovery_id + ETHEREUM_V_OFFSET])


def recover_address(digest: bytes, signature: bytes) -> str | None:
    """Lower-case 0x address that signed `digest` with a canonical 65-byte r ‖ s ‖ v signature; None if the
    signature is not canonical (see :func:`signature_defect`) or cannot be recovered."""
    if signature_defect(signature) is not None:
        return None
    recovery_id = signature[RECOVERY_ID_AT] - ETHEREUM_V_OFFSET
    try:
        public_key = coincurve.PublicKey.from_signature_and_message(
            signature[:RECOVERY_ID_AT] + bytes([recovery_id]), digest, hasher=None
        )
    except ValueError:
        return None
    return "0x" + keccak(public_key.format(compressed=False)[1:])[-20:].hex()


BallotRow = tuple[str, int, int, bytes, str]  # voter (0x address), support, nonce, 65-byte signature, signed reason


def signers_match(separator: bytes, proposal_id: int, rows: list[BallotRow]) -> list[bool]:
    """For each row, whether its signature recovers to its voter (EOA only, canonical signatures only)."""
    return [
        recover_address(
            ballot_digest_fast(
                separator, proposal_id=proposal_id, support=support, voter=voter, nonce=nonce, reason=reason
            ),
            signature,
        )
        == voter.lower()
        for voter, support, nonce, signature, reason in rows
    ]


def _match_chunk(args: tuple[bytes, int, list[BallotRow]]) -> list[bool]:
    return signers_match(*args)


def signers_match_parallel(
    separator: bytes, proposal_id: int, rows: list[BallotRow], *, processes: int | None = None, min_rows: int = 20_000
) -> list[bool]:
    """`signers_match` split over forked processes (one per CPU) when there are at least `min_rows` rows."""
    workers = processes or os.cpu_count() or 1
    if workers <= 1 or len(rows) < min_rows or "fork" not in multiprocessing.get_all_start_methods():
        return signers_match(separator, proposal_id, rows)
    size = -(-len(rows) // workers)
    chunks = [(separator, proposal_id, rows[i : i + size]) for i in range(0, len(rows), size)]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return [ok for part in pool.map(_match_chunk, chunks) for ok in part]

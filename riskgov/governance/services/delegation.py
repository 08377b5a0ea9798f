"""Delegation writes: gasless ``delegateBySig`` relays and signed delegate statements.

A relay is checked before it is stored — the delegatee is an address, the expiry is in the future, the nonce
is the token's ``nonces(delegator)`` and the signature is the delegator's canonical signature of
``Delegation(address delegatee,uint256 nonce,uint256 expiry)`` under the token's EIP-712 domain — then the
relayer account sends it from a task (``riskgov.governance_delegation_relay``) and the outcome is stored.

A statement is Markdown signed by the delegate as EIP-712 ``DelegateStatement`` typed data (ballot domain);
each accepted version replaces the one shown and every version is kept.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak
from eth_utils import is_address, to_checksum_address
from hexbytes import HexBytes

from chain.conf import dev_keys_allowed, parse_executor_key
from chain.deploy import DemoAccounts
from chain.eip712 import RECOVERY_ID_AT, is_valid_erc1271_signature, recover_address, signature_defect
from chain.errors import ChainError, ContractReverted, TransactionFailed
from chain.selectors.deployments import active_deployment
from chain.services.indexer import deployment_index
from riskgov.core.dispatch import send_on_commit
from riskgov.core.models.audit import AuditAction
from riskgov.core.services.audit import audit_record
from riskgov.governance.errors import GovernanceError
from riskgov.governance.models import DelegateStatement, DelegationRelay, RelayStatus
from riskgov.governance.selectors import chain_reads
from riskgov.governance.selectors.delegates import (
    delegation_domain,
    delegation_typed_data_for,
    statement_next_version,
    statement_typed_data,
    token_nonce,
)
from riskgov.governance.services.proposals import description_render

RELAY_TASK = "riskgov.governance_delegation_relay"
# A signature must stay valid long enough for the relay to be mined, and not be a standing authorisation.
MIN_EXPIRY_SECONDS = 60
MAX_EXPIRY_SECONDS = 30 * 24 * 3600
STATEMENT_MAX_CHARS = 10_000
# How far the signed issuedAt of a statement may be from the server's clock.
STATEMENT_MAX_AGE_SECONDS = 15 * 60
STATEMENT_MAX_SKEW_SECONDS = 5 * 60
UINT256_MAX = 2**256 - 1


class DelegationRejected(GovernanceError):
    """A delegation relay or statement was refused; `field` names the input at fault."""


class RelayerKeyError(GovernanceError):
    """No relayer account is configured, so signed delegations cannot be relayed."""

    status = 503


@dataclass(frozen=True)
class CanonicalSignature:
    v: int
    r: bytes
    s: bytes
    raw: bytes


def canonical_signature(signature: str) -> CanonicalSignature:
    """Split a 65-byte ``r ‖ s ‖ v`` signature, refusing what OpenZeppelin's ECDSA refuses (s > n/2, v ∉ {27, 28})."""
    try:
        raw = bytes(HexBytes(signature))
    except (ValueError, TypeError) as exc:
        raise DelegationRejected("invalid_signature", "the signature is not hex", field="signature") from exc
    if (defect := signature_defect(raw)) is not None:
        raise DelegationRejected("invalid_signature", f"the {defect}", field="signature")
    v, r, s = raw[RECOVERY_ID_AT], raw[:32], raw[32:RECOVERY_ID_AT]
    return CanonicalSignature(v=v, r=r, s=s, raw=raw)


def _address(value: str, field: str) -> str:
    if not isinstance(value, str) or not is_address(value):
        raise DelegationRejected(f"invalid_{field}", f"{value!r} is not an Ethereum address (0x and 40 hex digits)",
                                 field=field)  # fmt: skip
    return to_checksum_address(value)


def _uint(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise DelegationRejected(f"invalid_{field}", f"{field} must be a whole number", field=field)
    try:
        number = int(value)
    except ValueError as exc:
        raise DelegationRejected(f"invalid_{field}", f"{field} must be a whole number, got {value!r}",
                                 field=field) from exc  # fmt: skip
    if not 0 <= number <= UINT256_MAX:
        raise DelegationRejected(f"invalid_{field}", f"{field} must be between 0 and 2^256 - 1", field=field)
    return number


def _digest(document: dict[str, Any]) -> bytes:
    """keccak256(0x19 ‖ 0x01 ‖ domainSeparator ‖ hashStruct(message)) of a typed-data document."""
    signable = encode_typed_data(full_message=document)
    return bytes(keccak(b"\x19" + signable.version + signable.header + signable.body))


def delegation_relay_submit(
    *, delegator: str, delegatee: str, nonce: Any, expiry: Any, signature: str, submitted_by: str = "",
    now: float | None = None,
) -> DelegationRelay:  # fmt: skip
    """Store `delegator`'s signed delegation to `delegatee` and send it to the relayer on commit.

    `nonce` must be the token's current ``nonces(delegator)``; `expiry` a unix time (seconds) at least a minute
    and at most 30 days ahead. Raises DelegationRejected naming the field (409 when already submitted).
    """
    now = time.time() if now is None else now
    delegator = _address(delegator, "delegator")
    delegatee = _address(delegatee, "delegatee")
    nonce_value = _uint(nonce, "nonce")
    expiry_value = _uint(expiry, "expiry")
    if expiry_value <= now:
        raise DelegationRejected("expired_signature", f"the signature expired at {expiry_value} (unix time); sign "
                                 "a new one", field="expiry")  # fmt: skip
    if expiry_value < now + MIN_EXPIRY_SECONDS:
        raise DelegationRejected("expiry_too_soon", f"expiry must be at least {MIN_EXPIRY_SECONDS} s ahead, so the "
                                 "relay can be mined before it", field="expiry")  # fmt: skip
    if expiry_value > now + MAX_EXPIRY_SECONDS:
        raise DelegationRejected("expiry_too_far", "expiry must be at most 30 days ahead", field="expiry")
    canonical = canonical_signature(signature)
    domain = delegation_domain()
    expected_nonce = token_nonce(delegator)
    if nonce_value != expected_nonce:
        raise DelegationRejected("wrong_nonce", f"nonce must be {expected_nonce} (the token's nonces({delegator})), "
                                 f"got {nonce_value}", field="nonce")  # fmt: skip
    document = delegation_typed_data_for(domain=domain, delegatee=delegatee, nonce=nonce_value,
                                              expiry=expiry_value)  # fmt: skip
    if recover_address(_digest(document), canonical.raw) != delegator.lower():
        raise DelegationRejected(
            "invalid_signature", f"the signature is not {delegator}'s signature of a delegation to {delegatee} "
            f"(nonce {nonce_value}, expiry {expiry_value}, token {domain['verifyingContract']})", field="signature",
        )  # fmt: skip
    relayer_account()  # refuse now, not in the task, when nothing can relay
    try:
        with transaction.atomic():
            relay = DelegationRelay.objects.create(
                chain_id=int(domain["chainId"]), token=domain["verifyingContract"], delegator=delegator,
                delegatee=delegatee, nonce=Decimal(nonce_value), expiry=expiry_value,
                signature=HexBytes(canonical.raw).to_0x_hex(),
                submitted_by=to_checksum_address(submitted_by) if submitted_by and is_address(submitted_by) else "",
            )  # fmt: skip
            audit_record(action=AuditAction.DELEGATION_RELAY_SUBMITTED, subject=relay, actor=delegator,
                         data={"delegatee": delegatee, "nonce": nonce_value, "expiry": expiry_value})  # fmt: skip
            send_on_commit(RELAY_TASK, relay_id=relay.pk)
    except IntegrityError as exc:
        raise DelegationRejected("already_submitted", f"a delegation signed with nonce {nonce_value} by {delegator} "
                                 "was already submitted", field="nonce", status=409) from exc  # fmt: skip
    return relay


def relayer_account() -> LocalAccount:
    """The account that pays for relayed delegations: ``CHAIN_RELAYER_KEY``, else Anvil's dev account 0 in demo
    mode on the dev chain. Raises RelayerKeyError (503) when neither applies."""
    key = str(getattr(settings, "CHAIN_RELAYER_KEY", "") or "")
    if key:
        try:
            return parse_executor_key(key)
        except ChainError as exc:
            raise RelayerKeyError("relayer_key_invalid", "CHAIN_RELAYER_KEY is not a valid private key") from exc
    if dev_keys_allowed():
        return DemoAccounts.from_mnemonic(0).deployer
    raise RelayerKeyError(
        "relayer_not_configured",
        "Signed delegations cannot be relayed: no relayer account is configured (CHAIN_RELAYER_KEY). Send the "
        "delegation from your wallet instead.",
    )


# pg_advisory_lock key of the relayer's sends (any 64-bit number the project uses for nothing else)
RELAYER_LOCK_KEY = int.from_bytes(keccak(b"riskgov.relayer.sends")[:8], "big", signed=True)


def _advisory_locks() -> bool:
    return connection.vendor == "postgresql"


@contextmanager
def relayer_sending() -> Iterator[None]:
    """Hold the relayer's send lock while sending from the relayer account.

    Its transactions take consecutive nonces read from the node ("pending"), so two workers sending at once
    would give two transactions one nonce, and the node refuses the second. The sends wait for each other
    instead: a session advisory lock on PostgreSQL (workers on any host), an exclusive file lock under
    VAR_DIR on another database (which lives on one machine).
    """
    if _advisory_locks():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [RELAYER_LOCK_KEY])
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [RELAYER_LOCK_KEY])
        return
    with (settings.VAR_DIR / "relayer-sends.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def delegation_relay_send(*, relay_id: int) -> DelegationRelay:
    """Send a queued relay's ``delegateBySig`` from the relayer and record the outcome; safe to run twice
    (only a queued relay is sent). A revert is stored with its decoded reason; the chain is indexed after."""
    claimed = DelegationRelay.objects.filter(pk=relay_id, status=RelayStatus.QUEUED).update(status=RelayStatus.SENDING)
    relay = DelegationRelay.objects.get(pk=relay_id)
    if not claimed:
        return relay
    status, tx_hash, error = RelayStatus.FAILED, "", ""
    try:
        relayer = relayer_account()
        relay.relayer = relayer.address
        client = chain_reads.chain_client()
        token = client.contract("GovToken", relay.token)
        signature = canonical_signature(relay.signature)
        with relayer_sending():
            receipt = client.transact(
                token.functions.delegateBySig(relay.delegatee, int(relay.nonce), int(relay.expiry), signature.v,
                                              signature.r, signature.s),
                sender=relayer,
            )  # fmt: skip
        status, tx_hash = RelayStatus.SUCCEEDED, HexBytes(receipt["transactionHash"]).to_0x_hex()
    except ContractReverted as exc:
        status, error = RelayStatus.REVERTED, str(exc)
    except TransactionFailed as exc:
        status, tx_hash, error = RelayStatus.REVERTED, exc.tx_hash, str(exc)
    except (ChainError, GovernanceError) as exc:
        error = str(exc)
    with transaction.atomic():
        DelegationRelay.objects.filter(pk=relay.pk).update(
            status=status, tx_hash=tx_hash, error=error[:2000], relayer=relay.relayer, finished_at=timezone.now()
        )
        relay.refresh_from_db()
        audit_record(action=AuditAction.DELEGATION_RELAYED, subject=relay, actor=relay.relayer or "system",
                     data={"status": status, "tx_hash": tx_hash, "error": error[:500]})  # fmt: skip
    if status == RelayStatus.SUCCEEDED:
        deployment = active_deployment()
        if deployment is not None:  # show the new delegation at once instead of at the next indexer run
            deployment_index(deployment=deployment, client=client)
    return relay


def delegate_statement_publish(
    *, delegate: str, statement: str, version: Any, issued_at: Any, signature: str, now: float | None = None
) -> DelegateStatement:
    """Publish a new version of `delegate`'s statement (Markdown) if the delegate signed exactly this text,
    version and time. `version` must be the next one; `issued_at` (unix seconds) within 15 minutes of now."""
    now = time.time() if now is None else now
    delegate = _address(delegate, "delegate")
    if not isinstance(statement, str) or not statement.strip():
        raise DelegationRejected("empty_statement", "write a statement before signing it", field="statement")
    if len(statement) > STATEMENT_MAX_CHARS:
        raise DelegationRejected("statement_too_long", f"the statement is {len(statement)} characters; at most "
                                 f"{STATEMENT_MAX_CHARS} are allowed", field="statement")  # fmt: skip
    version_value = _uint(version, "version")
    issued_value = _uint(issued_at, "issued_at")
    if issued_value > now + STATEMENT_MAX_SKEW_SECONDS or issued_value < now - STATEMENT_MAX_AGE_SECONDS:
        raise DelegationRejected("stale_statement", "issuedAt must be the time of signing (within 15 minutes of "
                                 "the server's clock); sign again", field="issued_at")  # fmt: skip
    expected = statement_next_version(delegate)
    if version_value != expected:
        raise DelegationRejected("wrong_version", f"version must be {expected} (the next version of {delegate}'s "
                                 f"statement), got {version_value}", field="version")  # fmt: skip
    canonical = canonical_signature(signature)
    document = statement_typed_data(delegate=delegate, statement=statement, version=version_value,
                                    issued_at=issued_value)  # fmt: skip
    digest = _digest(document)
    if recover_address(digest, canonical.raw) != delegate.lower():
        w3 = chain_reads.ballot_web3()
        if w3 is None or not is_valid_erc1271_signature(w3, delegate, digest, canonical.raw):
            raise DelegationRejected("invalid_signature", f"the signature is not {delegate}'s signature of this "
                                     f"statement (version {version_value})", field="signature")  # fmt: skip
    try:
        with transaction.atomic():
            row = DelegateStatement.objects.create(
                chain_id=int(document["domain"]["chainId"]), delegate=delegate, version=version_value,
                statement=statement, statement_html=description_render(statement), issued_at=issued_value,
                signature=HexBytes(canonical.raw).to_0x_hex(),
            )  # fmt: skip
            audit_record(action=AuditAction.DELEGATE_STATEMENT_PUBLISHED, subject=row, actor=delegate,
                         data={"version": version_value})  # fmt: skip
    except IntegrityError as exc:
        raise DelegationRejected("wrong_version", f"version {version_value} of {delegate}'s statement was just "
                                 "published; sign the next one", field="version", status=409) from exc  # fmt: skip
    return row


__all__ = [
    "DelegationRejected",
    "RelayerKeyError",
    "canonical_signature",
    "delegate_statement_publish",
    "delegation_relay_send",
    "delegation_relay_submit",
    "relayer_account",
]

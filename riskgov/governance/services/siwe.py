"""Sign-In with Ethereum (EIP-4361): the server issues the message with a single-use nonce and checks it back.

The message's domain, URI, chain id, issue time and expiry must match what this server issued; the
nonce is consumed in the same step that accepts the signature, so a signed message works once. The client
may ask for the sign-in to last longer than the default (``expires_in``), up to ``SIWE_MAX_EXPIRY_SECONDS``;
the session forgets the address when the message expires.

The signature is recovered here, canonical signatures only (as OpenZeppelin's ECDSA: low s, v 27/28); a
contract wallet is asked through ERC-1271, and when its node is down the answer is 503 "cannot verify now".
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from eth_utils import is_address, to_checksum_address
from hexbytes import HexBytes

with warnings.catch_warnings():  # the grammar loader warns about redefined core rules at import
    warnings.simplefilter("ignore")
    import siwe

from chain.eip712 import (
    canonical_form,
    is_valid_erc1271_signature,
    personal_message_digest,
    recover_address,
    signature_defect,
)
from chain.errors import ChainError
from riskgov.core.models import AuditAction
from riskgov.core.services.audit import audit_record
from riskgov.governance.errors import GovernanceError
from riskgov.governance.models import SiweNonce, StaffAddress
from riskgov.governance.selectors import chain_reads

MESSAGE_LIFETIME = timedelta(minutes=10)  # default expiry, and the time the server's nonce waits for a signature
CLOCK_SKEW = timedelta(seconds=60)
STATEMENT = "Sign in to RiskGov to propose and manage margin-parameter governance."


class SignInRejected(GovernanceError):
    """The sign-in message or signature was not accepted."""

    status = 401


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def siwe_max_expiry() -> timedelta:
    """The longest sign-in a client may ask for (SIWE_MAX_EXPIRY_SECONDS, default 24 h)."""
    return timedelta(seconds=int(getattr(settings, "SIWE_MAX_EXPIRY_SECONDS", 24 * 3600)))


def siwe_message_issue(
    *,
    address: str,
    domain: str,
    uri: str,
    chain_id: int,
    expires_in: timedelta | None = None,
    now: datetime | None = None,
) -> str:
    """A fresh EIP-4361 message for `address` to sign with personal_sign; stores its nonce.

    `expires_in` (default 10 minutes) is how long the sign-in lasts; more than siwe_max_expiry() is refused
    (400, field ``expires_in``).
    """
    if not is_address(address):
        raise SignInRejected("invalid_address", f"{address!r} is not an Ethereum address", field="address", status=400)
    lifetime = MESSAGE_LIFETIME if expires_in is None else expires_in
    cap = siwe_max_expiry()
    if lifetime <= timedelta(0) or lifetime > cap:
        raise SignInRejected(
            "invalid_expiry",
            f"expires_in must be between 1 and {int(cap.total_seconds())} seconds, got {int(lifetime.total_seconds())}",
            field="expires_in",
            status=400,
        )
    now = now or timezone.now()
    nonce = siwe.generate_nonce()
    SiweNonce.objects.create(value=nonce, created_at=now, expires_at=now + min(lifetime, MESSAGE_LIFETIME))
    message = siwe.SiweMessage(
        domain=domain,
        address=to_checksum_address(address),
        statement=STATEMENT,
        uri=uri,
        version="1",
        chain_id=chain_id,
        nonce=nonce,
        issued_at=_iso(now),
        expiration_time=_iso(now + lifetime),
    )
    return str(message.prepare_message())


def _parse(message: str) -> siwe.SiweMessage:
    try:
        return siwe.SiweMessage.from_message(message)
    except Exception as exc:  # the parser raises several unrelated types for malformed text
        raise SignInRejected("malformed_message", f"not an EIP-4361 message: {exc}", field="message") from exc


def _check_fields(parsed: siwe.SiweMessage, *, domain: str, uri: str, chain_id: int, now: datetime) -> None:
    if parsed.domain != domain:
        raise SignInRejected("domain_mismatch", f"message is for {parsed.domain}, this site is {domain}")
    if parsed.uri.rstrip("/") != uri.rstrip("/"):
        raise SignInRejected("uri_mismatch", f"message URI {parsed.uri} is not {uri}")
    if int(parsed.chain_id) != chain_id:
        raise SignInRejected("wrong_chain", f"message is for chain {parsed.chain_id}, governance runs on {chain_id}")
    issued = datetime.fromisoformat(str(parsed.issued_at).replace("Z", "+00:00"))
    if issued > now + CLOCK_SKEW:
        raise SignInRejected("issued_in_future", "message is issued in the future")
    if parsed.expiration_time is None:
        raise SignInRejected("no_expiry", "message has no expiration time")
    expires = parsed.expiration_time._datetime
    if expires <= now:
        raise SignInRejected("expired", "message has expired; request a new one")
    cap = siwe_max_expiry()
    if expires - issued > cap:
        raise SignInRejected(
            "expiry_too_long",
            f"message expires {expires - issued} after it was issued; at most {cap} is accepted",
            field="message",
            status=400,
        )
    if parsed.not_before is not None and parsed.not_before._datetime > now + CLOCK_SKEW:
        raise SignInRejected("not_yet_valid", "message is not valid yet (not-before is in the future)")


def _signature_check(message: str, address: str, signature: str) -> None:
    """The signature of `message` by `address`: an account key's (canonical signatures only), else asked of the
    contract wallet at `address` (ERC-1271). Raises SignInRejected naming the reason."""
    try:
        raw = bytes(HexBytes(signature))
    except ValueError as exc:
        raise SignInRejected("invalid_signature", "signature is not hex", field="signature") from exc
    digest = personal_message_digest(message)
    if recover_address(digest, raw) == address.lower():
        return
    defect, canonical = signature_defect(raw), canonical_form(raw)
    if defect and canonical is not None and recover_address(digest, canonical) == address.lower():
        raise SignInRejected("non_canonical_signature", defect, field="signature")
    try:
        w3 = chain_reads.ballot_web3()
        accepted = w3 is not None and is_valid_erc1271_signature(w3, address, digest, raw)
    except ChainError as exc:
        raise SignInRejected(
            "cannot_verify_now",
            f"cannot verify now, retry later: the chain node that would ask the contract wallet is unreachable ({exc})",
            field="signature",
            status=503,
        ) from exc
    if not accepted:
        raise SignInRejected("invalid_signature", f"the signature is not {address}'s signature of this message")


@dataclass(frozen=True)
class SignIn:
    """Who signed in, and until when (the message's expiration time)."""

    address: str
    expires_at: datetime


def siwe_sign_in(
    *, message: str, signature: str, domain: str, uri: str, chain_id: int, now: datetime | None = None
) -> SignIn:
    """Verify a signed message and consume its nonce; returns the checksummed address and the sign-in's expiry."""
    now = now or timezone.now()
    parsed = _parse(message)
    _check_fields(parsed, domain=domain, uri=uri, chain_id=chain_id, now=now)
    address = to_checksum_address(parsed.address)
    _signature_check(message, address, signature)
    with transaction.atomic():
        consumed = SiweNonce.objects.filter(value=parsed.nonce, used_at__isnull=True, expires_at__gt=now).update(
            used_at=now
        )
        if consumed != 1:
            raise SignInRejected("nonce_rejected", "nonce is unknown, already used or expired; request a new message")
        audit_record(
            action=AuditAction.SIWE_SIGN_IN,
            subject=SiweNonce.objects.get(value=parsed.nonce),
            actor=address,
            data={"domain": domain, "chain_id": chain_id},
        )
    return SignIn(address=address, expires_at=parsed.expiration_time._datetime)


def siwe_nonces_purge(*, now: datetime | None = None) -> int:
    """Delete nonces that expired more than a day ago; returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=1)
    deleted, _ = SiweNonce.objects.filter(expires_at__lt=cutoff).delete()
    return deleted


def staff_address_link(*, user_id: int, address: str) -> StaffAddress:
    """Link a staff account to the address it acts as in governance (replacing an earlier link)."""
    checksummed = to_checksum_address(address)
    with transaction.atomic():
        link, _ = StaffAddress.objects.update_or_create(user_id=user_id, defaults={"address": checksummed})
        audit_record(
            action=AuditAction.STAFF_ADDRESS_LINKED, subject=link, actor=str(user_id), data={"address": checksummed}
        )
    return link

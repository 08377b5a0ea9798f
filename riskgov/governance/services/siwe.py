"""Sign-In with Ethereum (EIP-4361): the server issues the message with a single-use nonce and checks it back.

The message's domain, URI, chain id, issue time and expiry must match what this server issued; the
nonce is consumed in the same step that accepts the signature, so a signed message works once.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone
from eth_utils import is_address, to_checksum_address

with warnings.catch_warnings():  # the grammar loader warns about redefined core rules at import
    warnings.simplefilter("ignore")
    import siwe

from riskgov.core.models import AuditAction
from riskgov.core.services.audit import audit_record
from riskgov.governance.errors import GovernanceError
from riskgov.governance.models import SiweNonce, StaffAddress
from riskgov.governance.selectors.chain_reads import ballot_web3

MESSAGE_LIFETIME = timedelta(minutes=10)
CLOCK_SKEW = timedelta(seconds=60)
STATEMENT = "Sign in to RiskGov to propose and manage margin-parameter governance."


class SignInRejected(GovernanceError):
    """The sign-in message or signature was not accepted."""

    status = 401


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def siwe_message_issue(*, address: str, domain: str, uri: str, chain_id: int, now: datetime | None = None) -> str:
    """A fresh EIP-4361 message for `address` to sign with personal_sign; stores its nonce."""
    if not is_address(address):
        raise SignInRejected("invalid_address", f"{address!r} is not an Ethereum address", field="address", status=400)
    now = now or timezone.now()
    nonce = siwe.generate_nonce()
    SiweNonce.objects.create(value=nonce, created_at=now, expires_at=now + MESSAGE_LIFETIME)
    message = siwe.SiweMessage(
        domain=domain,
        address=to_checksum_address(address),
        statement=STATEMENT,
        uri=uri,
        version="1",
        chain_id=chain_id,
        nonce=nonce,
        issued_at=_iso(now),
        expiration_time=_iso(now + MESSAGE_LIFETIME),
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
    if parsed.expiration_time._datetime <= now:
        raise SignInRejected("expired", "message has expired; request a new one")


def siwe_sign_in(
    *, message: str, signature: str, domain: str, uri: str, chain_id: int, now: datetime | None = None
) -> str:
    """Verify a signed message and consume its nonce; returns the checksummed address signed in."""
    now = now or timezone.now()
    parsed = _parse(message)
    _check_fields(parsed, domain=domain, uri=uri, chain_id=chain_id, now=now)
    w3 = ballot_web3()
    try:
        parsed.verify(signature, domain=domain, nonce=parsed.nonce, timestamp=now, provider=w3.provider if w3 else None)
    except siwe.VerificationError as exc:
        raise SignInRejected("invalid_signature", f"signature check failed: {type(exc).__name__}") from exc
    except Exception as exc:  # malformed hex and the like
        raise SignInRejected("invalid_signature", f"signature check failed: {exc}") from exc
    address = to_checksum_address(parsed.address)
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
    return address


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

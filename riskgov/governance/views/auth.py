"""Wallet sign-in (EIP-4361), wallet status, and the demo wallet (demo mode only).

The session holds the signed-in address under SESSION_KEY. An account linked to an address (StaffAddress,
set by an administrator) acts as that address without a wallet signature. These are plain Django JSON endpoints (not
DRF), so a refusal is shaped here with `error_body`, as the API error handler shapes it for the APIs.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from eth_utils import is_address, to_checksum_address

from chain.errors import ChainError
from riskgov.core.errors import error_body
from riskgov.core.json_input import json_body_bounded, json_loads
from riskgov.core.ratelimit import rate_limited
from riskgov.governance.errors import GovernanceError
from riskgov.governance.models import StaffAddress
from riskgov.governance.selectors import chain_reads
from riskgov.governance.services.demo_wallet import (
    DemoWalletError,
    demo_accounts,
    demo_delegate,
    demo_send,
    demo_sign,
)
from riskgov.governance.services.siwe import SignInRejected, siwe_message_issue, siwe_sign_in

SESSION_KEY = "siwe_address"
SESSION_EXPIRES_KEY = "siwe_expires_at"  # ISO time the signed message expires; the sign-in ends then


def wallet_address(request: HttpRequest) -> str | None:
    """The address signed in with a wallet (Sign-In with Ethereum) whose message has not expired, else None."""
    address = request.session.get(SESSION_KEY)
    expires = request.session.get(SESSION_EXPIRES_KEY)
    if not address:
        return None
    if expires and datetime.fromisoformat(str(expires)) <= timezone.now():
        return None
    return str(address)


def session_address(request: HttpRequest) -> str | None:
    """The address the visitor acts as: signed in with a wallet, else the signed-in account's linked address."""
    address = wallet_address(request)
    if address:
        return address
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        link = StaffAddress.objects.filter(user=user).values_list("address", flat=True).first()
        return link
    return None


def wallet_context(request: HttpRequest) -> dict[str, Any]:
    """What the wallet bar needs: the expected chain, demo mode and the signed-in address."""
    return {
        "wallet_chain_id": settings.CHAIN_ID,
        "wallet_demo": bool(getattr(settings, "RISKGOV_DEMO_MODE", False)),
        "wallet_address": session_address(request),
        "wallet_signed_in": wallet_address(request) is not None,
    }


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json_loads(request.body or b"{}")  # bounded nesting: a deep document is refused, not a crash
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _origin(request: HttpRequest) -> tuple[str, str]:
    host = request.get_host()
    return host, f"{request.scheme}://{host}"


def _error(error: GovernanceError) -> JsonResponse:
    """The refusal as every API answers one: {"error": {"code", "message", "field"}}."""
    return JsonResponse(error_body(code=error.code, message=error.message, field=error.field), status=error.status)


def _posted_address(request: HttpRequest) -> str | None:
    """The address a sign-in request names (rate-limit subject): posted, or line 2 of an EIP-4361 message."""
    body = _json_body(request)
    lines = str(body.get("message", "")).splitlines()
    return str(body.get("address") or (lines[1] if len(lines) > 1 else "")).strip()[:64] or None


@require_POST
@json_body_bounded
@rate_limited("siwe_nonce", subject=_posted_address)
def siwe_message(request: HttpRequest) -> JsonResponse:
    """Issue an EIP-4361 message (with a fresh single-use nonce) for the posted address."""
    domain, uri = _origin(request)
    body = _json_body(request)
    try:
        message = siwe_message_issue(
            address=str(body.get("address", "")), domain=domain, uri=uri, chain_id=settings.CHAIN_ID,
            expires_in=_expires_in(body.get("expires_in")),
        )  # fmt: skip
    except GovernanceError as error:
        return _error(error)
    return JsonResponse({"message": message, "chain_id": settings.CHAIN_ID})


@require_POST
@json_body_bounded
@rate_limited("siwe_verify", subject=_posted_address)
def siwe_verify(request: HttpRequest) -> JsonResponse:
    body = _json_body(request)
    domain, uri = _origin(request)
    try:
        signed_in = siwe_sign_in(
            message=str(body.get("message", "")),
            signature=str(body.get("signature", "")),
            domain=domain,
            uri=uri,
            chain_id=settings.CHAIN_ID,
        )
    except GovernanceError as error:
        return _error(error)
    request.session.cycle_key()
    request.session[SESSION_KEY] = signed_in.address
    request.session[SESSION_EXPIRES_KEY] = signed_in.expires_at.isoformat()
    return JsonResponse({"address": signed_in.address, "expires_at": signed_in.expires_at.isoformat()})


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    """Forget the wallet sign-in. A JSON request gets JSON; the header's form is sent back to `next` (this site)."""
    request.session.pop(SESSION_KEY, None)
    request.session.pop(SESSION_EXPIRES_KEY, None)
    if request.content_type == "application/json":
        return JsonResponse({"address": None})
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    return HttpResponseRedirect(target)


def _expires_in(value: Any) -> timedelta | None:
    """The sign-in lifetime a client asks for, in seconds; None for the default. The cap is the service's."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise SignInRejected(
            "invalid_expiry", f"expires_in must be a whole number of seconds, got {value!r}", field="expires_in",
            status=400,
        )  # fmt: skip
    return timedelta(seconds=int(value))


@require_GET
def wallet_status(request: HttpRequest) -> JsonResponse:
    """The signed-in address, the chain, the token and, for ?address=, balance / votes / delegate."""
    data: dict[str, Any] = {"address": session_address(request), "chain_id": settings.CHAIN_ID}
    try:
        chain = chain_reads.governance_chain()
        data.update(gov_token=chain.gov_token, registry=chain.registry)
    except GovernanceError as error:
        data["chain_error"] = error.message
    queried = request.GET.get("address", "")
    if is_address(queried):
        try:
            status = chain_reads.delegation_of(queried)
            data["delegation"] = {
                "address": to_checksum_address(queried),
                "balance": str(status.balance),
                "votes": str(status.votes),
                "delegate": status.delegate,
                "needs_delegation": bool(status.needs_delegation),
                "indexed_block": status.indexed_block,
            }
        except ChainError as exc:  # an unindexed or unreachable chain only hides the delegation hint
            data["delegation_error"] = str(exc)
    return JsonResponse(data)


def _demo_only() -> None:
    if not getattr(settings, "RISKGOV_DEMO_MODE", False):
        raise Http404("The demo wallet exists only in demo mode.")


@require_GET
def demo_wallet_accounts(request: HttpRequest) -> JsonResponse:
    _demo_only()
    return JsonResponse({"accounts": demo_accounts()})


@require_POST
@json_body_bounded
def demo_wallet_sign(request: HttpRequest) -> JsonResponse:
    """Sign with an Anvil dev key: {address, method: personal_sign | eth_signTypedData_v4, payload}."""
    _demo_only()
    body = _json_body(request)
    try:
        signature = demo_sign(
            address=str(body.get("address", "")), method=str(body.get("method", "")), payload=body.get("payload")
        )
    except DemoWalletError as error:
        return _error(error)
    return JsonResponse({"signature": signature})


@require_POST
@json_body_bounded
def demo_wallet_delegate(request: HttpRequest) -> JsonResponse:
    """Self-delegate a dev account's tokens from its dev key."""
    _demo_only()
    try:
        tx_hash = demo_delegate(address=str(_json_body(request).get("address", "")))
    except DemoWalletError as error:
        return _error(error)
    return JsonResponse({"tx_hash": tx_hash})


@require_POST
@json_body_bounded
def demo_wallet_send(request: HttpRequest) -> JsonResponse:
    """eth_sendTransaction from a dev key to the Governor: {address, tx: {to, data, value}}."""
    _demo_only()
    body = _json_body(request)
    posted = body.get("tx")
    tx: dict[str, Any] = posted if isinstance(posted, dict) else {}
    try:
        tx_hash = demo_send(
            address=str(body.get("address", "")), to=str(tx.get("to", "")), data=str(tx.get("data", "0x")),
            value=str(tx.get("value", "0x0")),
        )  # fmt: skip
    except DemoWalletError as error:
        return _error(error)
    return JsonResponse({"tx_hash": tx_hash})

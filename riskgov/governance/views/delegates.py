"""Delegation pages and endpoints: the delegates table, a holder's page, the typed data a wallet signs, the
gasless relay of a signed delegation, and signed delegate statements.

The JSON endpoints are plain Django views like the wallet's (views/auth.py): a refusal answers
``{"error": {"code", "message", "field"}}`` with the domain error's status.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from eth_utils import is_address, to_checksum_address

from riskgov.core.errors import DomainError, error_body
from riskgov.core.json_input import json_loads
from riskgov.core.ratelimit import rate_limited
from riskgov.governance.models import DelegationRelay
from riskgov.governance.selectors.delegates import (
    SORTS,
    delegates_page,
    delegation_typed_data,
    holder_page,
    relay_get,
    statement_domain,
    statement_next_version,
    statement_typed_data,
)
from riskgov.governance.services.delegation import (
    DelegationRejected,
    delegate_statement_publish,
    delegation_relay_submit,
)
from riskgov.governance.views.auth import session_address, wallet_context

SORT_LABELS = {"power": "Voting power", "delegators": "Delegators", "votes_cast": "Votes cast",
               "participation": "Participation"}  # fmt: skip


def _error(error: DomainError) -> JsonResponse:
    return JsonResponse(error_body(code=error.code, message=error.message, field=error.field), status=error.status)


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json_loads(request.body or b"{}")
    except ValueError as exc:  # not JSON, or nested too deep to parse safely
        raise DelegationRejected("invalid_json", "the request body is not a JSON object") from exc
    if not isinstance(body, dict):
        raise DelegationRejected("invalid_json", "the request body is not a JSON object")
    return body


def _posted(field: str) -> Callable[[HttpRequest], str | None]:
    """The posted address in `field`, which a rate limit counts requests for (None when there is none)."""

    def subject(request: HttpRequest) -> str | None:
        try:
            body = json_loads(request.body or b"{}")
        except ValueError:
            return None
        value = body.get(field) if isinstance(body, dict) else None
        return value if isinstance(value, str) and is_address(value) else None

    return subject


def _address_param(value: str, field: str) -> str:
    if not is_address(value):
        raise DelegationRejected(f"invalid_{field}", f"{value!r} is not an Ethereum address (0x and 40 hex digits)",
                                 field=field)  # fmt: skip
    return to_checksum_address(value)


def relay_json(relay: DelegationRelay) -> dict[str, Any]:
    return {
        "id": relay.pk,
        "delegator": relay.delegator,
        "delegatee": relay.delegatee,
        "nonce": str(relay.nonce),
        "expiry": relay.expiry,
        "status": relay.status,
        "finished": relay.finished,
        "tx_hash": relay.tx_hash or None,
        "error": relay.error or None,
        "relayer": relay.relayer or None,
        "status_url": reverse("governance:api-delegation-relay", args=[relay.pk]),
    }


# ------------------------------------------------------------------------------------------ pages


@require_GET
def delegate_list(request: HttpRequest) -> HttpResponse:
    sort = request.GET.get("sort", "power")
    descending = request.GET.get("dir", "desc") != "asc"
    page = delegates_page(sort=sort, descending=descending, page=request.GET.get("page", 1))
    columns = [
        {"key": key, "label": SORT_LABELS[key], "active": key == page.sort,
         "next_dir": "asc" if key == page.sort and page.descending else "desc"}
        for key in SORTS
    ]  # fmt: skip
    context = {"delegates": page, "columns": columns, "sort_label": SORT_LABELS[page.sort]}
    return render(request, "governance/delegates.html", {**context, **wallet_context(request)})


@require_GET
def holder_detail(request: HttpRequest, address: str) -> HttpResponse:
    if not is_address(address):
        raise Http404(f"{address!r} is not an Ethereum address")
    page = holder_page(address)
    viewer = session_address(request)
    return render(request, "governance/holder.html", {
        "holder": page, "is_viewer": bool(viewer) and str(viewer).lower() == page.address.lower(),
        **wallet_context(request),
    })  # fmt: skip


# ------------------------------------------------------------------------------------------ JSON


@require_GET
def delegation_typed_data_api(request: HttpRequest) -> JsonResponse:
    """?delegator=&delegatee=: the Delegation typed data to sign (current token nonce, expiry in an hour)."""
    try:
        delegator = _address_param(request.GET.get("delegator", ""), "delegator")
        delegatee = _address_param(request.GET.get("delegatee", ""), "delegatee")
        return JsonResponse(delegation_typed_data(delegator=delegator, delegatee=delegatee))
    except DomainError as error:
        return _error(error)


@require_POST
@rate_limited("delegation_relay", subject=_posted("delegator"))
def delegation_relay_create_api(request: HttpRequest) -> JsonResponse:
    """{delegator, delegatee, nonce, expiry, signature} -> 202 with the queued relay."""
    try:
        body = _json_body(request)
        relay = delegation_relay_submit(
            delegator=body.get("delegator", ""), delegatee=body.get("delegatee", ""), nonce=body.get("nonce"),
            expiry=body.get("expiry"), signature=str(body.get("signature", "")),
            submitted_by=session_address(request) or "",
        )  # fmt: skip
    except DomainError as error:
        return _error(error)
    return JsonResponse(relay_json(relay), status=202)


@require_GET
def delegation_relay_api(request: HttpRequest, relay_id: int) -> JsonResponse:
    relay = relay_get(relay_id)
    if relay is None:
        return JsonResponse(error_body(code="unknown_relay", message=f"there is no relay #{relay_id}"), status=404)
    return JsonResponse(relay_json(relay))


@require_GET
def statement_typed_data_api(request: HttpRequest, address: str) -> JsonResponse:
    """The statement typed data without its text: the wallet script fills in statement and issuedAt."""
    try:
        delegate = _address_param(address, "delegate")
        template = statement_typed_data(delegate=delegate, statement="", version=statement_next_version(delegate),
                                        issued_at=0)  # fmt: skip
    except DomainError as error:
        return _error(error)
    return JsonResponse(template)


@require_POST
@rate_limited("delegate_statement", subject=_posted("delegate"))
def statement_publish_api(request: HttpRequest) -> JsonResponse:
    """{delegate, statement, version, issued_at, signature} -> 201 with the published version."""
    try:
        body = _json_body(request)
        statement_domain()  # a chain must be configured to know the signing domain
        row = delegate_statement_publish(
            delegate=body.get("delegate", ""), statement=body.get("statement", ""), version=body.get("version"),
            issued_at=body.get("issued_at"), signature=str(body.get("signature", "")),
        )  # fmt: skip
    except DomainError as error:
        return _error(error)
    return JsonResponse(
        {"delegate": row.delegate, "version": row.version, "statement_html": row.statement_html,
         "holder_url": reverse("governance:holder-detail", args=[row.delegate])},
        status=201,
    )  # fmt: skip

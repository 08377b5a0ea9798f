"""Token authentication: created by the user's page, by `manage.py api_token` or in the admin; a token acts with
exactly its user's permissions; HTTP Basic is accepted nowhere, and a NUL byte in any credential is no 500."""

from __future__ import annotations

import base64
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.authtoken.models import Token

from riskgov.core.models import AuditAction, AuditRecord, Permission
from tests.api.conftest import PASSWORD, ApiProtocol, user_with

pytestmark = pytest.mark.django_db


def _acknowledge(client: Client, protocol: ApiProtocol):
    url = reverse("monitoring:api-alert-acknowledge", kwargs={"alert_id": protocol.open_alert.pk})
    return client.post(url, {"reason": "on it"}, content_type="application/json")


def test_the_command_prints_a_token_that_acts_as_its_user(api_protocol: ApiProtocol, responder):
    out = StringIO()
    call_command("api_token", "responder", stdout=out)
    key = out.getvalue().strip()
    assert Token.objects.get(user=responder).key == key
    assert _acknowledge(Client(HTTP_AUTHORIZATION=f"Token {key}"), api_protocol).status_code == 200
    call_command("api_token", "responder", stdout=StringIO())  # a new token replaces the old one
    assert _acknowledge(Client(HTTP_AUTHORIZATION=f"Token {key}"), api_protocol).status_code == 401
    assert AuditRecord.objects.filter(action=AuditAction.API_TOKEN_CREATED, actor="manage.py api_token").count() == 2


def test_the_command_names_an_unknown_or_inactive_user(db):
    with pytest.raises(CommandError, match="username: no user named 'nobody'"):
        call_command("api_token", "nobody", stdout=StringIO())
    user = user_with("gone")
    user.is_active = False
    user.save()
    with pytest.raises(CommandError, match="inactive"):
        call_command("api_token", "gone", stdout=StringIO())


def test_a_token_has_the_permissions_of_its_user_no_more(api_protocol: ApiProtocol, plain_user):
    out = StringIO()
    call_command("api_token", "plain", stdout=out)
    client = Client(HTTP_AUTHORIZATION=f"Token {out.getvalue().strip()}")
    assert _acknowledge(client, api_protocol).status_code == 403
    plain_user.user_permissions.add(
        *type(plain_user).user_permissions.field.related_model.objects.filter(
            content_type__app_label="core", codename=Permission.ACKNOWLEDGE_ALERT.value
        )
    )
    assert _acknowledge(client, api_protocol).status_code == 200
    plain_user.is_active = False
    plain_user.save()
    assert _acknowledge(client, api_protocol).status_code == 401  # an inactive user's token stops working


def test_the_page_creates_shows_once_and_revokes_the_users_token(api_protocol: ApiProtocol, responder):
    browser = Client()
    url = reverse("api-token")
    assert browser.get(url).status_code == 302  # sign in first
    assert browser.login(username="responder", password=PASSWORD)
    assert b"You hold no token" in browser.get(url).content
    created = browser.post(url, {"action": "create"})
    key = Token.objects.get(user=responder).key
    assert key.encode() in created.content
    assert key.encode() not in browser.get(url).content  # shown once
    assert _acknowledge(Client(HTTP_AUTHORIZATION=f"Token {key}"), api_protocol).status_code == 200
    browser.post(url, {"action": "revoke"})
    assert not Token.objects.filter(user=responder).exists()
    assert _acknowledge(Client(HTTP_AUTHORIZATION=f"Token {key}"), api_protocol).status_code == 401
    assert browser.post(url, {"action": "steal"}).status_code == 400


def test_admins_manage_tokens_in_the_admin(admin_client, responder):
    response = admin_client.post(reverse("admin:authtoken_tokenproxy_add"), {"user": responder.pk})
    assert response.status_code == 302 and Token.objects.filter(user=responder).exists()


def test_http_basic_is_not_accepted(api_protocol: ApiProtocol, responder):
    credentials = base64.b64encode(f"responder:{PASSWORD}".encode()).decode()
    response = _acknowledge(Client(HTTP_AUTHORIZATION=f"Basic {credentials}"), api_protocol)
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"


def _api_paths() -> list[str]:
    """A concrete path for every API route (path parameters filled with 1 or ETH)."""
    paths = []

    def walk(patterns: list, prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                route = prefix + str(pattern.pattern)
                if "api/" in route and "schema" not in route and "docs" not in route:
                    paths.append(route)

    walk(get_resolver().url_patterns, "/")
    concrete = []
    for route in paths:
        path = route.replace("^", "").replace("$", "")
        for name in ("proposal_id", "run_id", "alert_id", "report_id", "snapshot_id", "relay_id"):
            path = path.replace(f"<int:{name}>", "1")
        path = path.replace("(?P<symbol>[A-Za-z0-9][A-Za-z0-9._-]{0,31})", "ETH")
        concrete.append(path.replace("<str:address>", "0x0000000000000000000000000000000000000001"))
    return concrete


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic " + base64.b64encode(b"adm\x00in:secret").decode(),
        "Basic " + base64.b64encode(b"\x00:\x00").decode(),
        "Token abc\x00def",
        "Token " + "0" * 39 + "\x00",
    ],
)
def test_a_nul_byte_in_credentials_is_never_a_500(api_protocol: ApiProtocol, authorization):
    client = Client(HTTP_AUTHORIZATION=authorization, raise_request_exception=False)
    paths = _api_paths()
    assert len(paths) >= 20
    for path in paths:
        for method in (client.get, client.post):
            response = method(path)
            assert response.status_code != 500, path  # a 503 "cannot verify now" is an answer, not a crash

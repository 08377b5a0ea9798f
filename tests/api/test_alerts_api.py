"""Alerts API: public reads with filters; acknowledge / snooze / resolve only with the named permission, by
session (with its CSRF token) or token, through the alert action services (audited, 409 once resolved)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from riskgov.core.models import AuditAction, AuditRecord
from riskgov.monitoring.models import Alert
from tests.api.conftest import PASSWORD, ApiProtocol, token_client

pytestmark = pytest.mark.django_db


def test_alerts_list_newest_first_and_filter(client, api_protocol: ApiProtocol):
    url = reverse("monitoring:api-alerts")
    body = client.get(url).json()
    assert [a["id"] for a in body["results"]] == [api_protocol.open_alert.pk, api_protocol.resolved_alert.pk]
    assert body["results"][0]["market"] == "ETH" and body["results"][1]["market"] is None
    assert [a["id"] for a in client.get(url, {"state": "open"}).json()["results"]] == [api_protocol.open_alert.pk]
    assert client.get(url, {"market": "eth"}).json()["count"] == 1
    assert client.get(url, {"severity": api_protocol.open_alert.severity_name}).json()["count"] == 2
    assert client.get(url, {"kind": "volatility_jump"}).json()["count"] == 0
    bad = client.get(url, {"state": "closed"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "state"


def test_one_alert(client, api_protocol: ApiProtocol):
    body = client.get(reverse("monitoring:api-alert", kwargs={"alert_id": api_protocol.open_alert.pk})).json()
    assert body["summary"] == "ETH near liquidation" and body["rule"]["kind"] == "near_liq_notional_above"
    assert client.get(reverse("monitoring:api-alert", kwargs={"alert_id": 999999})).status_code == 404


def _acknowledge_url(alert: Alert) -> str:
    return reverse("monitoring:api-alert-acknowledge", kwargs={"alert_id": alert.pk})


def test_acknowledge_needs_the_permission(client, api_protocol: ApiProtocol, plain_user):
    url = _acknowledge_url(api_protocol.open_alert)
    anonymous = client.post(url, {"reason": "on it"}, content_type="application/json")
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "not_authenticated"
    refused = token_client(plain_user).post(url, {"reason": "on it"}, content_type="application/json")
    assert refused.status_code == 403 and "acknowledge" in refused.json()["error"]["message"]
    api_protocol.open_alert.refresh_from_db()
    assert api_protocol.open_alert.acknowledged_at is None


def test_acknowledge_with_a_token_is_audited_under_the_tokens_user(api_protocol: ApiProtocol, responder):
    response = token_client(responder).post(
        _acknowledge_url(api_protocol.open_alert), {"reason": "looking at ETH"}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["acknowledged_by"] == "responder"
    assert response.json()["acknowledge_reason"] == "looking at ETH"
    record = AuditRecord.objects.get(action=AuditAction.ALERT_ACKNOWLEDGED)
    assert record.actor == "responder" and record.subject_id == str(api_protocol.open_alert.pk)


def test_a_session_needs_its_csrf_token(api_protocol: ApiProtocol, responder):
    browser = Client(enforce_csrf_checks=True)
    assert browser.login(username="responder", password=PASSWORD)
    url = _acknowledge_url(api_protocol.open_alert)
    without = browser.post(url, {"reason": "on it"}, content_type="application/json")
    assert without.status_code == 403 and "CSRF" in without.json()["error"]["message"]
    browser.get(reverse("monitoring:alerts"))  # the page sets the CSRF cookie
    with_token = browser.post(
        url, {"reason": "on it"}, content_type="application/json", HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value
    )
    assert with_token.status_code == 200


def test_snooze_and_resolve_and_a_resolved_alert_refuses_with_409(api_protocol: ApiProtocol, responder):
    client, alert = token_client(responder), api_protocol.open_alert
    until = (timezone.now() + timedelta(hours=4)).isoformat()
    snoozed = client.post(
        reverse("monitoring:api-alert-snooze", kwargs={"alert_id": alert.pk}),
        {"until": until, "reason": "maintenance"},
        content_type="application/json",
    )
    assert snoozed.status_code == 200 and snoozed.json()["snoozed_by"] == "responder"
    too_late = client.post(
        reverse("monitoring:api-alert-snooze", kwargs={"alert_id": alert.pk}),
        {"until": (timezone.now() + timedelta(days=45)).isoformat(), "reason": "long"},
        content_type="application/json",
    )
    assert too_late.status_code == 400 and too_late.json()["error"]["field"] == "until"
    resolved = client.post(
        reverse("monitoring:api-alert-resolve", kwargs={"alert_id": alert.pk}),
        {"reason": "fixed"},
        content_type="application/json",
    )
    assert resolved.status_code == 200 and resolved.json()["state"] == "resolved"
    again = client.post(_acknowledge_url(alert), {"reason": "late"}, content_type="application/json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "alert_not_open"


@pytest.mark.parametrize(("body", "field"), [({}, "reason"), ({"reason": "   "}, "reason")])
def test_a_missing_reason_is_a_400_naming_it(api_protocol: ApiProtocol, responder, body, field):
    response = token_client(responder).post(
        _acknowledge_url(api_protocol.open_alert), body, content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["error"]["field"] == field

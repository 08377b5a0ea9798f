"""Alerts people work with: severity in the banner, acknowledge / snooze / resolve by staff with a reason."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from riskgov.core.models import AuditRecord
from riskgov.monitoring.models import Alert, AlertDelivery, AlertKind, AlertRule, AlertSeverity, AlertState
from riskgov.monitoring.services.monitoring import alerts_evaluate
from tests.factories import PositionFactory
from tests.monitoring.conftest import make_market
from tests.monitoring.test_alerts import mark

pytestmark = pytest.mark.django_db


@pytest.fixture
def market():
    market = make_market("HNDL")
    mark(market, "3000")
    PositionFactory(market=market, size=D("10"), entry_price=D("3000"), collateral=D("3000"))  # $30K long
    return market


def oi_rule(name: str, severity: int | None = None, threshold: str = "0.0001", **extra) -> AlertRule:
    """An open-interest rule that fires on the fixture's market (OI $30K of a $100M cap) unless raised."""
    return AlertRule.objects.create(
        name=name, kind=AlertKind.OI_SHARE_OF_CAP_ABOVE, threshold=D(threshold), severity=severity, **extra
    )


def banner(client) -> str:
    return client.get(reverse("monitoring:alert-banner")).content.decode()


@pytest.fixture
def staff(client, admin_user):
    client.force_login(admin_user)
    return client


def test_alert_takes_its_rules_severity_or_the_kinds_default(market):
    oi_rule("Default severity")
    oi_rule("Critical OI", severity=AlertSeverity.CRITICAL)
    AlertRule.objects.create(name="Coverage", kind=AlertKind.COVERAGE_RATIO_BELOW, threshold=D("1"))
    alerts_evaluate()
    assert dict(Alert.objects.values_list("rule__name", "severity")) == {
        "Default severity": AlertSeverity.WARNING,
        "Critical OI": AlertSeverity.CRITICAL,
    }
    assert AlertRule.objects.get(name="Coverage").effective_severity == AlertSeverity.CRITICAL


def test_banner_shows_the_most_severe_first_and_how_many_more(client, market, django_assert_max_num_queries):
    oi_rule("Info OI", severity=AlertSeverity.INFO)
    oi_rule("Warning OI", severity=AlertSeverity.WARNING)
    oi_rule("Critical OI", severity=AlertSeverity.CRITICAL)
    oi_rule("Second info OI", severity=AlertSeverity.INFO)
    alerts_evaluate()
    with django_assert_max_num_queries(3):  # session-less: the rows and, with more than shown, a count
        text = banner(client)
    assert "4 open alerts" in text
    assert "alert-banner-critical" in text
    critical, warning = text.index("Critical</span>"), text.index("Warning</span>")
    assert critical < warning and "Info</span>" not in text
    assert "+2 more" in text

    page = client.get(reverse("monitoring:alerts")).content.decode()
    order = [page.index(f'severity-{name}">') for name in ("critical", "warning", "info")]
    assert order == sorted(order)


def test_staff_acknowledges_with_a_reason_in_the_audit_log(staff, admin_user, market):
    oi_rule("OI")
    alerts_evaluate()
    alert = Alert.objects.get()
    response = staff.post(
        reverse("monitoring:alert-acknowledge", args=[alert.pk]),
        {f"acknowledge-{alert.pk}-reason": "Looking at the ETH whale"},
    )
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_by == admin_user.username and alert.acknowledged_at is not None
    assert alert.state == AlertState.OPEN
    record = AuditRecord.objects.get(action="alert.acknowledged")
    assert (record.subject_id, record.actor, record.data["reason"]) == (
        str(alert.pk),
        admin_user.username,
        "Looking at the ETH whale",
    )
    assert "Acknowledged</strong> by admin" in staff.get(reverse("monitoring:alerts")).content.decode()


def test_staff_resolves_and_a_condition_still_true_opens_a_new_alert(staff, admin_user, market):
    oi_rule("OI", recipients=["risk@example.org"])
    alerts_evaluate()
    alert = Alert.objects.get()
    response = staff.post(
        reverse("monitoring:alert-resolve", args=[alert.pk]), {f"resolve-{alert.pk}-reason": "Cap raised on chain"}
    )
    assert response.status_code == 302
    alert.refresh_from_db()
    assert (alert.state, alert.resolved_by, alert.resolve_reason) == (
        AlertState.RESOLVED,
        admin_user.username,
        "Cap raised on chain",
    )
    record = AuditRecord.objects.get(action="alert.resolved")
    assert (record.actor, record.data["reason"]) == (admin_user.username, "Cap raised on chain")
    assert AlertDelivery.objects.filter(alert=alert, event="resolved").count() == 1

    again = alerts_evaluate()  # the cap was not raised after all: a new alert, delivered again
    assert len(again.opened) == 1 and again.opened[0] != alert.pk
    assert AlertDelivery.objects.filter(alert_id=again.opened[0], event="opened").count() == 1
    # resolving an alert that is no longer open says so and records nothing
    staff.post(reverse("monitoring:alert-resolve", args=[alert.pk]), {f"resolve-{alert.pk}-reason": "again"})
    assert AuditRecord.objects.filter(action="alert.resolved").count() == 1


def test_snooze_hides_from_the_banner_until_its_time(staff, admin_user, client, market):
    oi_rule("OI")
    alerts_evaluate()
    alert = Alert.objects.get()
    until = (timezone.now() + timedelta(hours=2)).replace(second=0, microsecond=0)
    response = staff.post(
        reverse("monitoring:alert-snooze", args=[alert.pk]),
        {
            f"snooze-{alert.pk}-until": until.strftime("%Y-%m-%dT%H:%M"),
            f"snooze-{alert.pk}-reason": "Known, fix Monday",
        },
    )
    assert response.status_code == 302
    alert.refresh_from_db()
    assert (alert.snoozed_until, alert.snoozed_by) == (until, admin_user.username)
    record = AuditRecord.objects.get(action="alert.snoozed")
    assert (record.actor, record.data) == (
        admin_user.username,
        {"reason": "Known, fix Monday", "until": until.isoformat()},
    )
    assert "open alert" not in banner(staff)
    assert "Snoozed</strong> until" in staff.get(reverse("monitoring:alerts")).content.decode()
    with time_machine.travel(until + timedelta(minutes=1)):
        assert "1 open alert" in banner(staff)


def test_nothing_is_delivered_while_snoozed_and_the_held_notice_goes_out_after(staff, market):
    rule = oi_rule("OI", recipients=["risk@example.org"])
    alerts_evaluate()
    first = Alert.objects.get()
    until = (timezone.now() + timedelta(hours=1)).replace(second=0, microsecond=0)
    staff.post(
        reverse("monitoring:alert-snooze", args=[first.pk]),
        {f"snooze-{first.pk}-until": until.strftime("%Y-%m-%dT%H:%M"), f"snooze-{first.pk}-reason": "flapping"},
    )
    AlertRule.objects.filter(pk=rule.pk).update(threshold=D("0.9"))
    assert alerts_evaluate().resolved == [first.pk]  # cleared while snoozed: no "resolved" notice
    AlertRule.objects.filter(pk=rule.pk).update(threshold=D("0.0001"))
    reopened = alerts_evaluate().opened  # back while snoozed: opens snoozed, no "opened" notice
    assert len(reopened) == 1
    second = Alert.objects.get(pk=reopened[0])
    assert second.snoozed_until == until
    assert list(AlertDelivery.objects.values_list("alert_id", "event")) == [(first.pk, "opened")]
    assert "open alert" not in banner(staff)

    with time_machine.travel(until + timedelta(minutes=1)):
        mark(market, "3000")
        assert alerts_evaluate().still_open == 1  # the snooze ran out on a still-open alert
    assert AlertDelivery.objects.filter(alert=second, event="opened").count() == 1


def test_non_staff_cannot_act_on_alerts(client, django_user_model, market):
    oi_rule("OI")
    alerts_evaluate()
    alert = Alert.objects.get()
    user = django_user_model.objects.create_user("holder", password="pw")
    for logged_in in (False, True):
        if logged_in:
            client.force_login(user)
        for action in ("acknowledge", "snooze", "resolve"):
            response = client.post(
                reverse(f"monitoring:alert-{action}", args=[alert.pk]), {f"{action}-{alert.pk}-reason": "mine"}
            )
            if logged_in:
                assert response.status_code == 403  # signed in without the acknowledge permission
            else:
                assert response.status_code == 302 and "/admin/login/" in response["Location"]
    alert.refresh_from_db()
    assert (alert.state, alert.acknowledged_by, alert.snoozed_until) == (AlertState.OPEN, "", None)
    assert not AuditRecord.objects.filter(action__startswith="alert.").exists()
    assert "Acknowledge, snooze or resolve" not in client.get(reverse("monitoring:alerts")).content.decode()


@pytest.mark.parametrize(
    ("action", "data", "field", "message"),
    [
        ("acknowledge", {"reason": "  "}, "reason", "Say why, for the audit log."),
        ("resolve", {}, "reason", "Say why, for the audit log."),
        ("snooze", {"until": "tomorrow-ish", "reason": "x"}, "until", "Enter a date and time."),
        ("snooze", {"until": "2001-01-01T00:00", "reason": "x"}, "until", "The snooze must end in the future."),
        ("snooze", {"until": "2999-01-01T00:00", "reason": "x"}, "until", "A snooze lasts at most 30 days."),
    ],
)
def test_bad_input_answers_400_with_the_fields_error(staff, market, action, data, field, message):
    oi_rule("OI")
    alerts_evaluate()
    alert = Alert.objects.get()
    response = staff.post(
        reverse(f"monitoring:alert-{action}", args=[alert.pk]),
        {f"{action}-{alert.pk}-{name}": value for name, value in data.items()},
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert f'id="id_{action}-{alert.pk}-{field}-error">{message}' in text
    assert '<details class="alert-actions" open>' in text
    alert.refresh_from_db()
    assert (alert.state, alert.acknowledged_by, alert.snoozed_until) == (AlertState.OPEN, "", None)
    assert not AuditRecord.objects.filter(action__startswith="alert.").exists()

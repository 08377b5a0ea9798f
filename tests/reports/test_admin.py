"""Subscriptions deleted in the admin go through the audited service, one by one or in bulk."""

import pytest
from django.urls import reverse

from riskgov.core.models import AuditAction, AuditRecord
from riskgov.reports.models import ReportSubscription
from riskgov.reports.services.reports import report_subscription_create

pytestmark = pytest.mark.django_db


def test_deleting_a_subscription_in_the_admin_is_audited(admin_client, daily_schedule):
    subscription = report_subscription_create(schedule=daily_schedule, email="a@example.org", created_by="test")
    url = reverse("admin:reports_reportsubscription_delete", args=[subscription.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not ReportSubscription.objects.filter(pk=subscription.pk).exists()
    record = AuditRecord.objects.get(action=AuditAction.REPORT_SUBSCRIPTION_DELETED, subject_id=str(subscription.pk))
    assert record.actor == "admin" and record.data["email"] == "a@example.org"


def test_bulk_delete_audits_every_subscription(admin_client, daily_schedule):
    emails = ["a@example.org", "b@example.org", "c@example.org"]
    ids = [report_subscription_create(schedule=daily_schedule, email=e, created_by="test").pk for e in emails]
    response = admin_client.post(
        reverse("admin:reports_reportsubscription_changelist"),
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    assert response.status_code == 302
    assert not ReportSubscription.objects.filter(pk__in=ids).exists()
    audited = AuditRecord.objects.filter(action=AuditAction.REPORT_SUBSCRIPTION_DELETED)
    assert sorted(audited.values_list("data__email", flat=True)) == emails

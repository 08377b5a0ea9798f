"""Every project admin renders, and rows written by services, tasks or the indexer cannot be edited by hand."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from django.urls import reverse

pytestmark = pytest.mark.django_db

PROJECT_APPS = ("core", "markets", "governance", "monitoring", "reports", "insurance", "chain")

# What a superuser may do by hand: (add, change, delete). Models not listed keep Django's full permissions.
VIEW_ONLY = (False, False, False)
APPEND_ONLY = (True, False, False)
VIEW_AND_DELETE = (False, False, True)
EXPECTED = {
    "core.auditrecord": VIEW_ONLY,
    "markets.exposuresnapshot": VIEW_ONLY,
    "markets.marginparameters": APPEND_ONLY,
    "markets.parameterchangerequest": VIEW_ONLY,
    "markets.liquidation": VIEW_AND_DELETE,
    "monitoring.coveragebacktest": VIEW_AND_DELETE,
    "governance.governancesettings": (False, True, False),  # the one row exists: edited, never added or deleted
    "governance.proposal": VIEW_ONLY,
    "governance.vote": VIEW_ONLY,
    "governance.voternonce": VIEW_ONLY,
    "governance.voterelay": VIEW_ONLY,
    "governance.delegationrelay": VIEW_ONLY,
    "governance.delegatestatement": VIEW_ONLY,
    "governance.notificationsubscriber": VIEW_ONLY,
    "governance.notificationdelivery": VIEW_AND_DELETE,
    "monitoring.marginpolicy": APPEND_ONLY,
    "monitoring.marginrecommendation": VIEW_AND_DELETE,
    "monitoring.alert": VIEW_AND_DELETE,
    "monitoring.alertdelivery": VIEW_AND_DELETE,
    "reports.exposurereport": VIEW_AND_DELETE,
    "reports.reportdelivery": VIEW_AND_DELETE,
    "insurance.fundledgerentry": APPEND_ONLY,
    "insurance.coveragerun": VIEW_AND_DELETE,
    "insurance.riskattestation": VIEW_ONLY,
    "insurance.scenario": VIEW_ONLY,
    "chain.chaindeployment": VIEW_ONLY,
    "chain.indexercheckpoint": VIEW_ONLY,
    "chain.chainevent": VIEW_ONLY,
    "chain.votingpowercheckpoint": VIEW_ONLY,
    "chain.delegationchange": VIEW_ONLY,
    "chain.tokentransfer": VIEW_ONLY,
    "chain.tokensupplycheckpoint": VIEW_ONLY,
    "chain.registryupdate": VIEW_ONLY,
    "chain.governorproposal": VIEW_ONLY,
    "chain.governorvote": VIEW_ONLY,
    "chain.governorproposalevent": VIEW_ONLY,
    "chain.timelockevent": VIEW_ONLY,
}
PROJECT_ADMINS = sorted(
    (model._meta.label_lower, model_admin)
    for model, model_admin in admin.site._registry.items()
    if model._meta.app_label in PROJECT_APPS
)


@pytest.fixture
def superuser():
    return get_user_model().objects.create_superuser("steward", password="pw")


@pytest.mark.parametrize(("label", "model_admin"), PROJECT_ADMINS, ids=[label for label, _ in PROJECT_ADMINS])
def test_permissions_by_hand(superuser, label, model_admin) -> None:
    request = RequestFactory().get("/admin/")
    request.user = superuser
    granted = (
        model_admin.has_add_permission(request),
        model_admin.has_change_permission(request),
        model_admin.has_delete_permission(request),
    )
    assert granted == EXPECTED.get(label, (True, True, True))
    assert model_admin.has_view_permission(request)


@pytest.mark.parametrize(("label", "model_admin"), PROJECT_ADMINS, ids=[label for label, _ in PROJECT_ADMINS])
def test_changelist_and_add_page_answer(client, superuser, label, model_admin) -> None:
    client.force_login(superuser)
    app_label, model_name = label.split(".")
    assert client.get(reverse(f"admin:{app_label}_{model_name}_changelist")).status_code == 200
    can_add = EXPECTED.get(label, (True, True, True))[0]
    assert client.get(reverse(f"admin:{app_label}_{model_name}_add")).status_code == (200 if can_add else 403)

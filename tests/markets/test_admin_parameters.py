"""Admin parameter changes go through the guardrails service: a new version, audited, or nothing at all."""

from __future__ import annotations

from decimal import Decimal as D
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError
from django.urls import reverse

from riskgov.core.models import AuditAction, AuditRecord
from riskgov.markets.models import MarginParameters, Market, ParameterRule
from riskgov.markets.services.rules import parameter_rule_save
from tests.markets.conftest import GENESIS

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(get_user_model().objects.create_superuser("steward", password="pw"))
    return client


def add_url(market: Market) -> str:
    return f"{reverse('admin:markets_marginparameters_add')}?market={market.pk}"


def post_data(market: Market, **changes: str) -> dict[str, str]:
    data = {name: str(value) for name, value in GENESIS.items()}
    data.update({"size_margin_base": "", "size_margin_slope": "", "reason": "tighten ahead of listing"})
    data.update(changes)
    data["market"] = str(market.pk)
    return data


def test_add_form_is_prefilled_with_current_values_and_shows_history(admin_client, market):
    response = admin_client.get(add_url(market))

    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["imr"] == "0.02" and form.initial["max_leverage"] == "50"
    assert len(response.context["history"]) == 1
    assert "Version history of ETH-USD" in response.content.decode()


def test_add_without_market_asks_for_one(admin_client, market):
    response = admin_client.get(reverse("admin:markets_marginparameters_add"))
    assert response.status_code == 200
    assert f'value="{market.pk}"' in response.content.decode()


def test_valid_change_creates_version_two_and_an_audit_record(admin_client, market):
    response = admin_client.post(add_url(market), post_data(market, imr="0.022", max_leverage="45"))

    assert response.status_code == 302
    new = MarginParameters.objects.filter(market=market).latest("version")
    assert (new.version, new.imr, new.max_leverage, new.source) == (2, D("0.022"), D("45"), "admin")
    assert (new.actor, new.reason) == ("steward", "tighten ahead of listing")
    audit = AuditRecord.objects.get(action="parameters.changed", subject_id=str(new.pk))
    assert audit.actor == "steward" and audit.data["changes"]["imr"] == {"old": "0.02", "new": "0.022"}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"mmr": "0.02"}, "imr", "must exceed the maintenance margin rate"),
        ({"max_leverage": "60"}, "max_leverage", "must be at most 1/imr"),
        ({"imr": "0.03", "max_leverage": "30"}, "imr", "exceeds the steward limit of 25.00 % per update"),
        ({"liquidation_penalty": "0.0001"}, "liquidation_penalty", "is below the minimum 0.0005"),
        ({"reason": "  "}, "reason", "This field is required"),
    ],
)
def test_each_guardrail_violation_shows_on_its_field_and_changes_nothing(admin_client, market, changes, field, message):
    audits = AuditRecord.objects.count()

    response = admin_client.post(add_url(market), post_data(market, **changes))

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert any(message in error for error in errors[field]), errors
    assert message in response.content.decode().replace("&#x27;", "'")
    assert MarginParameters.objects.filter(market=market).count() == 1
    assert AuditRecord.objects.count() == audits


def test_steward_delay_is_a_non_field_error(admin_client, market):
    assert admin_client.post(add_url(market), post_data(market, imr="0.021", max_leverage="45")).status_code == 302

    response = admin_client.post(add_url(market), post_data(market, imr="0.022", max_leverage="45"))

    assert response.status_code == 400
    errors = response.context["form"].non_field_errors()
    assert any("minimum delay 72 h" in error and "governance proposal" in error for error in errors)
    assert MarginParameters.objects.filter(market=market).count() == 2


def test_unchanged_values_are_refused(admin_client, market):
    response = admin_client.post(add_url(market), post_data(market))
    assert response.status_code == 400
    assert any("equal the current version" in e for e in response.context["form"].non_field_errors())


def test_existing_versions_cannot_be_changed_or_deleted(admin_client, market):
    version = MarginParameters.objects.get(market=market)
    change_url = reverse("admin:markets_marginparameters_change", args=[version.pk])

    page = admin_client.get(change_url)
    assert page.status_code == 200
    assert b'name="imr"' not in page.content  # read-only view, no inputs

    admin_client.post(change_url, {"imr": "0.5", "mmr": "0.4"})
    version.refresh_from_db()
    assert version.imr == D("0.02")

    delete = admin_client.post(reverse("admin:markets_marginparameters_delete", args=[version.pk]), {"post": "yes"})
    assert delete.status_code == 403
    assert MarginParameters.objects.filter(pk=version.pk).exists()


def test_market_admin_links_to_the_change_form_and_lists_versions(admin_client, market):
    response = admin_client.get(reverse("admin:markets_market_change", args=[market.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert add_url(market) in body.replace("&amp;", "&")
    assert "parameter version history" in body.lower()


@pytest.mark.parametrize(
    "model",
    [
        "markets_market",
        "markets_account",
        "markets_position",
        "markets_priceobservation",
        "markets_exposuresnapshot",
        "core_auditrecord",
        "markets_parameterrule",
        "markets_marginparameters",
    ],
)
def test_every_changelist_renders(admin_client, market, model):
    response = admin_client.get(reverse(f"admin:{model}_changelist"), {"q": "0x"})
    assert response.status_code == 200


# ------------------------------------------------------------ guardrail rules


def rule_data(market: Market, **values: str) -> dict[str, str]:
    data = {"field": "imr", "market": str(market.pk), "min_value": "0.01", "max_value": "0.5"}
    data.update({"max_abs_change": "", "max_rel_change": "0.1"})
    data.update(values)
    return data


def test_adding_and_changing_a_rule_are_audited_with_what_changed(admin_client, market):
    added = admin_client.post(reverse("admin:markets_parameterrule_add"), rule_data(market))
    assert added.status_code == 302
    rule = ParameterRule.objects.get(market=market, field="imr")
    created = AuditRecord.objects.get(action=AuditAction.PARAMETER_RULE_CHANGED, subject_id=str(rule.pk))
    assert created.actor == "steward" and created.data["created"] is True
    assert created.data["changes"]["max_rel_change"] == {"old": None, "new": "0.1"}

    change_url = reverse("admin:markets_parameterrule_change", args=[rule.pk])
    assert admin_client.post(change_url, rule_data(market, max_value="0.4")).status_code == 302

    changed = AuditRecord.objects.filter(action=AuditAction.PARAMETER_RULE_CHANGED, subject_id=str(rule.pk)).latest(
        "pk"
    )
    assert changed.data["created"] is False
    assert changed.data["changes"] == {"max_value": {"old": "0.5", "new": "0.4"}}


def test_deleting_rules_one_by_one_or_in_bulk_is_audited(admin_client, market):
    rules = [
        ParameterRule.objects.create(field=field, market=market, min_value=D("0"), max_value=D("1"))
        for field in ("imr", "mmr", "liquidation_penalty")
    ]
    one = reverse("admin:markets_parameterrule_delete", args=[rules[0].pk])
    assert admin_client.post(one, {"post": "yes"}).status_code == 302
    bulk = {"action": "delete_selected", "_selected_action": [r.pk for r in rules[1:]], "post": "yes"}
    assert admin_client.post(reverse("admin:markets_parameterrule_changelist"), bulk).status_code == 302

    assert not ParameterRule.objects.filter(market=market).exists()
    deleted = AuditRecord.objects.filter(action=AuditAction.PARAMETER_RULE_DELETED)
    assert sorted(deleted.values_list("subject_id", flat=True)) == sorted(str(r.pk) for r in rules)
    assert deleted.get(subject_id=str(rules[0].pk)).data["values"]["max_value"] == "1"


def test_a_rule_is_not_saved_when_its_audit_record_cannot_be_written(market):
    rule = ParameterRule(field="imr", market=market, min_value=D("0.01"))
    with (
        mock.patch("riskgov.markets.services.rules.audit_record", side_effect=DatabaseError("audit table locked")),
        pytest.raises(DatabaseError),
    ):
        parameter_rule_save(rule=rule, actor="steward")
    assert not ParameterRule.objects.filter(market=market).exists()

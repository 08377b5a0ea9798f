"""Every margin-parameter change passes one set of rules; a rejected change writes nothing."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
import time_machine
from django.utils import timezone

from riskgov.core.models import AuditRecord
from riskgov.core.models.versions import ChangeSource
from riskgov.markets.models import MarginParameters, ParameterRule
from riskgov.markets.services.guardrails import GuardrailError
from riskgov.markets.services.parameters import margin_parameters_change

pytestmark = pytest.mark.django_db


def change(market, source=ChangeSource.ADMIN, **values):
    return margin_parameters_change(market=market, changes=values, source=source, reason="test", actor="alice")


def rules_of(error: GuardrailError) -> set[tuple[str, str | None]]:
    return {(v.rule, v.field) for v in error.violations}


def test_admin_change_within_steward_bounds_adds_a_version_and_audit(market):
    version = change(market, imr=D("0.024"), max_leverage=D("41"))
    assert version.version == 2 and version.source == ChangeSource.ADMIN
    assert version.mmr == D("0.01")  # untouched fields carry over
    record = AuditRecord.objects.get(action="parameters.changed", subject_id=str(version.pk))
    assert record.data["changes"]["imr"] == {"old": "0.02", "new": "0.024"}
    assert MarginParameters.objects.current_for(market).version == 2


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"liquidation_penalty": D("0.012")}, ("rate_order", "mmr")),
        ({"mmr": D("0.02")}, ("rate_order", "imr")),
        ({"imr": D("1.5"), "source": ChangeSource.PROPOSAL}, ("rate_order", "imr")),
        ({"max_leverage": D("60"), "source": ChangeSource.PROPOSAL}, ("max_leverage_vs_imr", "max_leverage")),
        ({"insurance_fee_share": D("1.2"), "source": ChangeSource.PROPOSAL}, ("fraction", "insurance_fee_share")),
        (
            {
                "liquidation_penalty": D("0.2"),
                "mmr": D("0.3"),
                "imr": D("0.6"),
                "max_leverage": D("1"),
                "source": ChangeSource.PROPOSAL,
            },
            ("field_bounds", "liquidation_penalty"),
        ),
        ({"imr": D("0.05"), "max_leverage": D("20")}, ("max_change_per_update", "imr")),
        ({"oi_cap": D("200000000")}, ("max_change_per_update", "oi_cap")),
        ({"size_margin_base": D("1000000")}, ("size_margin_pair", "size_margin_slope")),
        ({}, ("no_change", None)),
    ],
)
def test_rejected_change_names_the_rule_and_writes_nothing(market, values, expected):
    source = values.pop("source", ChangeSource.ADMIN)
    before = (MarginParameters.objects.count(), AuditRecord.objects.count())
    with pytest.raises(GuardrailError) as excinfo:
        change(market, source=source, **values)
    assert expected in rules_of(excinfo.value)
    assert expected[0] in str(excinfo.value)
    assert (MarginParameters.objects.count(), AuditRecord.objects.count()) == before


def test_steward_delay_refuses_a_second_admin_update_and_points_to_governance(market):
    change(market, imr=D("0.022"), max_leverage=D("45"))
    with pytest.raises(GuardrailError) as excinfo:
        change(market, imr=D("0.024"), max_leverage=D("41"))
    assert ("steward_min_delay", None) in rules_of(excinfo.value)
    assert "governance proposal" in str(excinfo.value)
    with time_machine.travel(timezone.now() + timedelta(hours=market.steward_min_delay_hours, minutes=1)):
        assert change(market, imr=D("0.024"), max_leverage=D("41")).version == 3


def test_a_proposal_may_exceed_steward_limits_but_not_hard_rules(market):
    version = change(market, source=ChangeSource.PROPOSAL, imr=D("0.05"), mmr=D("0.025"), max_leverage=D("20"))
    assert version.version == 2 and version.source == ChangeSource.PROPOSAL


def test_market_specific_rule_overrides_the_default(market):
    ParameterRule.objects.create(field="imr", market=market, max_rel_change=D("0.05"))
    with pytest.raises(GuardrailError) as excinfo:
        # +10 % is within the default 25 % but over the market's 5 %.
        change(market, imr=D("0.022"), max_leverage=D("45"))
    assert ("max_change_per_update", "imr") in rules_of(excinfo.value)


def test_unknown_field_and_missing_reason_are_rejected(market):
    with pytest.raises(GuardrailError, match="unknown_field"):
        change(market, leverage=D(3))
    with pytest.raises(GuardrailError, match="reason"):
        margin_parameters_change(
            market=market, changes={"imr": D("0.021")}, source=ChangeSource.ADMIN, reason=" ", actor="x"
        )


def test_versions_are_immutable(market):
    current = MarginParameters.objects.current_for(market)
    current.imr = D("0.5")
    with pytest.raises(Exception, match="immutable"):
        current.save()
    with pytest.raises(Exception, match="immutable"):
        current.delete()


@pytest.mark.parametrize("source", [ChangeSource.ADMIN, ChangeSource.PROPOSAL, ChangeSource.POLICY])
def test_a_field_without_any_rule_refuses_every_change(market, source):
    ParameterRule.objects.filter(field="oi_cap").delete()
    versions = MarginParameters.objects.filter(market=market).count()
    with pytest.raises(GuardrailError) as raised:
        change(market, source=source, imr=D("0.024"), max_leverage=D("41"))
    assert ("rule_missing", "oi_cap") in rules_of(raised.value)
    assert "no guardrail rule covers this field" in str(raised.value)
    assert MarginParameters.objects.filter(market=market).count() == versions


def test_a_market_rule_alone_is_enough_for_its_market(market):
    default = ParameterRule.objects.get(field="oi_cap", market=None)
    ParameterRule.objects.create(field="oi_cap", market=market, min_value=D("0"))
    default.delete()
    assert change(market, imr=D("0.024"), max_leverage=D("41")).version == 2


def test_a_policy_change_that_only_tightens_is_not_held_by_the_steward_delay(market):
    change(market, source=ChangeSource.POLICY, imr=D("0.022"), mmr=D("0.011"), max_leverage=D("45"))
    tighter = change(market, source=ChangeSource.POLICY, imr=D("0.024"), mmr=D("0.012"), max_leverage=D("41"))
    assert tighter.version == 3  # risk-reducing: applied at once
    with pytest.raises(GuardrailError) as excinfo:  # still inside the per-update steward limits
        change(market, source=ChangeSource.POLICY, imr=D("0.05"), mmr=D("0.025"), max_leverage=D("20"))
    assert ("max_change_per_update", "imr") in rules_of(excinfo.value)


@pytest.mark.parametrize(
    "values",
    [
        {"imr": D("0.019"), "max_leverage": D("50")},  # loosens the IMR
        {"imr": D("0.022"), "max_leverage": D("45"), "liquidation_penalty": D("0.004")},  # penalty down
        {"imr": D("0.022"), "max_leverage": D("45"), "insurance_fee_share": D("0.25")},  # another field
    ],
)
def test_the_delay_exemption_is_narrow(market, values):
    change(market, source=ChangeSource.POLICY, imr=D("0.021"), max_leverage=D("47"))
    with pytest.raises(GuardrailError) as excinfo:
        change(market, source=ChangeSource.POLICY, **values)
    assert ("steward_min_delay", None) in rules_of(excinfo.value)


def test_an_admin_tightening_still_waits_for_the_delay(market):
    change(market, imr=D("0.022"), max_leverage=D("45"))
    with pytest.raises(GuardrailError) as excinfo:
        change(market, imr=D("0.024"), max_leverage=D("41"))
    assert ("steward_min_delay", None) in rules_of(excinfo.value)

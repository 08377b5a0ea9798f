"""Governance in reports: proposals open at the period end or decided inside it, with their state then."""

from datetime import timedelta

import pytest

from riskgov.reports.services.reports import exposure_report_generate
from tests.governance.conftest import chain, gov_settings, holders, make_proposal  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


def test_report_lists_proposals_decided_in_the_period(protocol, daily_schedule, chain, gov_settings, holders):  # noqa: F811
    decided = make_proposal(chain, holders[0], now=protocol.period.start + timedelta(hours=1), mmr="0.012")
    make_proposal(chain, holders[1], now=protocol.period.start - timedelta(days=5), mmr="0.011")  # ended before
    report = exposure_report_generate(schedule=daily_schedule, period=protocol.period, requested_by="test").report
    (row,) = report.content["proposals"]
    assert (row["id"], row["state"], row["markets"]) == (decided.pk, "defeated", ["ETH"])  # no votes: no quorum
    assert f"/governance/{decided.pk}/" in report.html and "Raise ETH maintenance margin" in report.html

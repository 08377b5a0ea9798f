"""The API against its own schema: schemathesis drives every operation of /api/schema/ on a live server over a
realistic protocol (the demo seed, a report, a proposal with a vote), anonymously and with a token of a user
holding every permission. No server error, and every answer's status, content type, headers and body are the
ones the schema documents. Bounded: a few examples per operation, no shrinking, one worker."""

from __future__ import annotations

import re
import subprocess
import sys
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from eth_account import Account
from rest_framework.authtoken.models import Token

from riskgov.governance.models import GovernanceSettings
from riskgov.governance.services.proposals import ChangeInput, proposal_create
from riskgov.governance.services.votes import SignedBallot, vote_cast
from riskgov.markets.models import MarginParameters
from riskgov.reports.domain.periods import period_last_complete
from riskgov.reports.models import ReportSchedule
from riskgov.reports.services.reports import exposure_report_generate
from tests.governance.conftest import WAD, FakeChain, signed

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True), pytest.mark.timeout(280)]

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)
EXAMPLES_PER_OPERATION = 4
SCHEMATHESIS = Path(sys.executable).with_name("st")


def _protocol_seed(chain: FakeChain) -> None:
    call_command(
        "seed_demo", "--seed", "4", "--positions", "300", "--days", "20", "--snapshot-days", "1", "--no-progress",
        stdout=StringIO(),
    )  # fmt: skip
    schedule = ReportSchedule.objects.get(name="Daily protocol report")
    exposure_report_generate(
        schedule=schedule, period=period_last_complete("daily", timezone.now()), requested_by="schema test"
    )
    settings_row, _ = GovernanceSettings.objects.get_or_create(pk=1)
    settings_row.voting_delay_seconds = 0
    settings_row.save()
    proposer, voter = Account.from_key(b"\x01" * 32), Account.from_key(b"\x02" * 32)
    chain.powers[proposer.address] = 50_000 * WAD
    chain.powers[voter.address] = 70_000 * WAD
    current = MarginParameters.objects.filter(market__symbol="ETH").order_by("-version").first()
    assert current is not None, "the demo seed sets genesis parameters"
    proposal = proposal_create(
        proposer=proposer.address,
        title="Raise the maintenance margin",
        description="Volatility is up.",
        changes=[ChangeInput("ETH", "mmr", (current.mmr * Decimal("1.04")).quantize(Decimal("0.0001")))],
    )
    vote_cast(ballot=SignedBallot(proposal_id=proposal.pk, **signed(proposal.pk, 1, voter)), submitted_by="")


def _schemathesis(workdir: Path, url: str, *headers: str) -> subprocess.Popen[str]:
    """schemathesis against the live server; it keeps its crash cache in `workdir`, outside the checkout."""
    command = [
        str(SCHEMATHESIS), "run", f"{url}/api/schema/", "--checks", CHECKS, "--max-examples",
        str(EXAMPLES_PER_OPERATION), "--phases", "examples,fuzzing", "--no-shrink", "--workers", "1", "--seed", "15",
        "--request-timeout", "60", "--generation-database", "none", "--no-color",
    ]  # fmt: skip
    for header in headers:
        command += ["--header", header]
    return subprocess.Popen(command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_every_answer_is_one_the_schema_documents(live_server, chain: FakeChain, tmp_path: Path):
    _protocol_seed(chain)
    admin = User.objects.create_superuser("schema-admin", password="unused-password")
    token = Token.objects.create(user=admin)
    # drf-spectacular loads its extensions on the first schema request, not thread-safely: ask once first
    assert Client().get("/api/schema/").status_code == 200
    runs = {  # side by side: the live server answers both
        "anonymous": _schemathesis(tmp_path, live_server.url),
        "signed in": _schemathesis(tmp_path, live_server.url, f"Authorization: Token {token.key}"),
    }
    for name, process in runs.items():
        output, _ = process.communicate(timeout=240)
        print(f"schemathesis, {name}:", *re.findall(r"(?:Tested: \d+|\d+ generated, .*|=+ .* in [\d.]+s =+)", output))
        assert process.returncode == 0, f"schemathesis ({name}) found failures:\n{output[-12000:]}"
        counts = re.search(r"(\d+) generated, (\d+) passed", output)
        assert counts is not None and int(counts[1]) == int(counts[2]) > 0, output[-4000:]
        operations = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", output)
        assert operations is not None and int(operations[3]) == int(operations[2]) >= 25, output[-4000:]

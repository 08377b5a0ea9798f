"""The governance tasks: the tick sends each due piece of work once, and execution retries follow the shared policy."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from unittest import mock

import pytest
import time_machine

from riskgov.core import dispatch
from riskgov.governance import tasks
from riskgov.governance.errors import ActionNotAllowed
from riskgov.governance.models import Proposal, ProposalState, Vote
from riskgov.governance.services.execution import ExecutionFailed, ExecutionUnavailable
from riskgov.governance.services.tick import (
    EXECUTE_TASK,
    EXECUTION_BACKOFF_SECONDS,
    EXECUTION_MAX_RETRIES,
    EXECUTION_RESEND_AFTER,
    IMPACT_REFRESH_TASK,
    RECOUNT_TASK,
)
from tests.governance.conftest import T0, WAD, make_proposal

pytestmark = pytest.mark.django_db

START = T0 + timedelta(minutes=1)  # the settings' 60 s voting delay
END = START + timedelta(hours=1)
ETA = END + timedelta(seconds=600)


def test_task_names_are_the_ones_beat_and_services_send() -> None:
    assert dispatch.task("riskgov.governance_tick").name == tasks.governance_tick.name
    assert dispatch.task(EXECUTE_TASK).name == tasks.governance_execute.name == "riskgov.governance_execute"
    assert dispatch.task(IMPACT_REFRESH_TASK).name == tasks.governance_impact_refresh.name
    assert dispatch.task(RECOUNT_TASK).name == tasks.governance_recount.name


@pytest.fixture
def sent():
    """The work the tick sends, by task name, as (name, kwargs) in order."""
    calls: list[tuple[str, dict[str, object]]] = []
    with mock.patch.object(dispatch, "send", lambda name, /, **kwargs: calls.append((name, kwargs))):
        yield calls


def _tick(at: datetime, capture) -> dict[str, list[int]]:
    with time_machine.travel(at, tick=False), capture(execute=True):
        return tasks.governance_tick.apply().get()


def _queued(chain, holders) -> Proposal:
    proposal = make_proposal(chain, holders[0])
    Vote.objects.create(proposal=proposal, voter=holders[1].address, support=1, weight=Decimal(900_000 * WAD),
                        nonce=0, signature="0x00")  # fmt: skip
    Proposal.objects.filter(pk=proposal.pk).update(queued_at=END, state=ProposalState.QUEUED)
    return proposal


def test_tick_sends_an_execution_once_and_again_only_after_the_retry_window(
    chain, holders, market, gov_settings, sent, django_capture_on_commit_callbacks
) -> None:
    proposal = _queued(chain, holders)

    assert _tick(ETA - timedelta(seconds=1), django_capture_on_commit_callbacks)["executing"] == []  # timelock
    assert _tick(ETA, django_capture_on_commit_callbacks)["executing"] == [proposal.pk]
    assert _tick(ETA + timedelta(seconds=30), django_capture_on_commit_callbacks)["executing"] == []
    later = ETA + EXECUTION_RESEND_AFTER + timedelta(seconds=1)
    assert _tick(later, django_capture_on_commit_callbacks)["executing"] == [proposal.pk]

    assert [call for call in sent if call[0] == EXECUTE_TASK] == [(EXECUTE_TASK, {"proposal_id": proposal.pk})] * 2
    proposal.refresh_from_db()
    assert proposal.last_execution_attempt_at == later and proposal.execution_attempts == 0  # sent, not attempted


def test_a_failed_attempt_holds_the_tick_back_until_the_retry_window_passes(
    chain, holders, market, gov_settings, sent, django_capture_on_commit_callbacks
) -> None:
    proposal = _queued(chain, holders)
    Proposal.objects.filter(pk=proposal.pk).update(last_execution_attempt_at=ETA, execution_attempts=1)

    assert _tick(ETA + EXECUTION_RESEND_AFTER, django_capture_on_commit_callbacks)["executing"] == []
    assert _tick(ETA + EXECUTION_RESEND_AFTER + timedelta(seconds=1), django_capture_on_commit_callbacks)[
        "executing"
    ] == [proposal.pk]


def test_tick_refreshes_stale_previews_and_recounts_changed_proposals(
    chain, holders, market, gov_settings, sent, django_capture_on_commit_callbacks
) -> None:
    fresh = make_proposal(chain, holders[0])
    stale = make_proposal(chain, holders[1])
    at = START + timedelta(minutes=20)
    Proposal.objects.filter(pk=fresh.pk).update(impact_computed_at=at - timedelta(minutes=5))
    Proposal.objects.filter(pk=stale.pk).update(impact_computed_at=at - timedelta(minutes=16))

    result = _tick(at, django_capture_on_commit_callbacks)

    assert sorted(result["changed"]) == [fresh.pk, stale.pk]  # pending → active
    assert result["refreshing"] == [stale.pk]
    assert sorted(kwargs["proposal_id"] for name, kwargs in sent if name == RECOUNT_TASK) == [fresh.pk, stale.pk]
    assert [kwargs["proposal_id"] for name, kwargs in sent if name == IMPACT_REFRESH_TASK] == [stale.pk]
    again = _tick(at + timedelta(seconds=30), django_capture_on_commit_callbacks)
    assert again["changed"] == [] and again["queued"] == []


def _execute(outcomes: list[object]) -> tuple[str, mock.MagicMock, mock.MagicMock]:
    with (
        mock.patch.object(tasks, "proposal_execute", side_effect=outcomes) as execute,
        mock.patch.object(tasks.governance_execute, "retry", wraps=tasks.governance_execute.retry) as retry,
    ):
        result = tasks.governance_execute.apply(kwargs={"proposal_id": 7}).get()  # eager: retries run inline
    return result, execute, retry


def test_an_unreachable_chain_is_retried_with_the_shared_backoff() -> None:
    executed = mock.Mock(state=ProposalState.EXECUTED)

    result, execute, retry = _execute([ExecutionUnavailable("chain_failed", "connection refused"), executed])

    assert result == ProposalState.EXECUTED and execute.call_count == 2
    assert retry.call_count == 1 and 0 <= retry.call_args.kwargs["countdown"] <= EXECUTION_BACKOFF_SECONDS


def test_retries_stop_after_the_policy_and_the_failure_is_returned() -> None:
    down = ExecutionUnavailable("chain_failed", "connection refused")

    result, execute, _ = _execute([down] * (EXECUTION_MAX_RETRIES + 1))

    assert result == "failed: chain_failed" and execute.call_count == EXECUTION_MAX_RETRIES + 1


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ExecutionFailed("registry_reverted", "InvalidParameters"), "failed: registry_reverted"),
        (ActionNotAllowed("not_executable", "Proposal #7 is vetoed"), "skipped: not_executable"),
    ],
)
def test_lasting_failures_and_refusals_are_not_retried(error: Exception, expected: str) -> None:
    result, execute, retry = _execute([error])
    assert result == expected and execute.call_count == 1 and retry.call_count == 0

"""The run page while a run works: the chunk table is part of the polled fragment, so it changes with the
progress card; a finished run's page shows the headline and explains a required fund below VaR99."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from insurance.models import RunStatus
from insurance.selectors.coverage import run_headline
from insurance.services.coverage_execution import coverage_chunk_simulate, coverage_run_execute_inline
from tests.insurance.conftest import build_book
from tests.insurance.test_run_lifecycle import new_run

pytestmark = pytest.mark.django_db


def chunk_statuses(body: str) -> list[str]:
    return re.findall(r'data-chunk-status="(\w+)"', body)


def test_the_polled_fragment_carries_the_chunk_table_as_it_changes(client: Client) -> None:
    build_book(positions=120)
    run = new_run()
    page = client.get(reverse("insurance:run-detail", args=[run.pk])).content.decode()
    assert chunk_statuses(page) == ["pending"] * 3
    assert 'id="run-progress"' in page and 'hx-trigger="every 1500ms"' in page

    coverage_chunk_simulate(run_id=run.pk, chunk_index=1)
    fragment = client.get(reverse("insurance:run-progress", args=[run.pk])).content.decode()
    assert fragment.count('id="run-progress"') == 1 and 'id="run-chunks"' in fragment
    assert chunk_statuses(fragment) == ["pending", "done", "pending"]
    assert 'data-chunks-done="1"' in fragment and 'hx-trigger="every 1500ms"' in fragment

    coverage_chunk_simulate(run_id=run.pk, chunk_index=0)
    fragment = client.get(reverse("insurance:run-progress", args=[run.pk])).content.decode()
    assert chunk_statuses(fragment) == ["done", "done", "pending"]


def test_a_required_fund_below_var99_explains_itself() -> None:
    build_book(positions=120)
    run = coverage_run_execute_inline(run=new_run(paths=200))
    assert run.status == RunStatus.SUCCEEDED, run.error
    headline = run_headline(run)
    assert headline is not None
    body = Client().get(reverse("insurance:run-detail", args=[run.pk])).content.decode()
    assert 'id="required-fund" title="The smallest fund' in body and "offset that path" in body
    below = headline.required_fund.value < headline.var99.value  # type: ignore[operator]
    assert ('id="required-fund-note"' in body) == below

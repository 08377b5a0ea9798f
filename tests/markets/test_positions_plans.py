"""The positions list's account search is an index lookup on PostgreSQL, whatever the case of the address typed."""

from __future__ import annotations

import pytest
from django.db import connection

from riskgov.markets.models import Account
from riskgov.markets.selectors.positions import accounts_matching

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plans")


def test_a_full_address_search_reads_the_upper_address_index(db):
    account = Account.objects.create(address="0x" + "ab" * 20, label="desk")
    typed = account.address.lower()
    assert accounts_matching(typed).ids == (account.pk,)
    query = Account.objects.filter(address__iexact=typed).values("pk")
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a table this small is otherwise read whole
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "account_address_upper_idx" in plan, plan

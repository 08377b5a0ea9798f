"""Worker side of the governance benchmark: posts signed ballots through the real vote endpoint."""

from __future__ import annotations

from typing import Any

from bench.database import django_setup


def post_votes(args: tuple[str, int, list[dict[str, Any]]]) -> tuple[int, int]:
    url, proposal_id, batch = args
    django_setup(url)
    from django.db import connection
    from django.test import Client

    connection.close()
    client = Client(SERVER_NAME="localhost")
    path = f"/governance/api/proposals/{proposal_id}/votes/"
    accepted = 0
    for body in batch:
        accepted += client.post(path, body, content_type="application/json").status_code == 201
    return accepted, len(batch)

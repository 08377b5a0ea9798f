"""The relayer's sends take turns: two workers sending at once would give two transactions one nonce."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connections

from riskgov.governance.services import delegation
from riskgov.governance.services.delegation import relayer_sending


def _second_sender_waits_for_the_first() -> list[str]:
    events: list[str] = []
    first_holds = threading.Event()
    release = threading.Event()

    def first() -> None:
        try:
            with relayer_sending():
                events.append("first in")
                first_holds.set()
                release.wait(10)
                events.append("first out")
        finally:
            connections.close_all()

    def second() -> None:
        try:
            first_holds.wait(10)
            with relayer_sending():
                events.append("second in")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    first_holds.wait(10)
    time.sleep(0.5)  # the second sender has had time to get in, had the lock let it
    release.set()
    for thread in threads:
        thread.join(15)
    return events


@pytest.mark.django_db(transaction=True)
def test_a_second_relayer_send_waits_for_the_first_on_this_database() -> None:
    assert _second_sender_waits_for_the_first() == ["first in", "first out", "second in"]


@pytest.mark.django_db(transaction=True)
def test_the_file_lock_used_beside_sqlite_also_makes_them_take_turns(monkeypatch, settings, tmp_path) -> None:
    settings.VAR_DIR = tmp_path
    monkeypatch.setattr(delegation, "_advisory_locks", lambda: False)
    assert _second_sender_waits_for_the_first() == ["first in", "first out", "second in"]
    assert (tmp_path / "relayer-sends.lock").exists()

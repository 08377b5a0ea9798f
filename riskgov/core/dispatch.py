"""Send Celery tasks by their registered name, so services never import a `tasks.py`.

Tasks are looked up in the Celery app's registry, so eager mode, retries and a test's patch of a task's
`delay` behave exactly as with a direct call. A web process has not imported the `tasks` modules yet: the
first unknown name runs Celery's autodiscovery of every installed app's `tasks` module, once.
"""

from __future__ import annotations

from typing import Any

from celery import Task, current_app
from celery.canvas import Signature
from django.db import transaction


def task(name: str) -> Task:
    """The registered task called `name` (e.g. ``"insurance.finish_run"``); NotRegistered names an unknown one."""
    registry = current_app.tasks
    if name not in registry:
        current_app.loader.import_default_modules()
    return registry[name]


def send(name: str, /, **kwargs: Any) -> None:
    """Enqueue task `name` now with keyword arguments `kwargs` (ids and primitives only)."""
    task(name).delay(**kwargs)


def send_on_commit(name: str, /, **kwargs: Any) -> None:
    """Enqueue task `name` once the current transaction commits (at once outside a transaction)."""
    transaction.on_commit(lambda: send(name, **kwargs))


def signature(name: str, /, **kwargs: Any) -> Signature:
    """An immutable signature of task `name`, for chords and `apply_async` options."""
    return task(name).si(**kwargs)

"""Gunicorn settings for the web process (Procfile.production, the production check, the pages benchmark).

A worker builds what every request needs as soon as it has loaded the application, before it accepts a
request: the URL resolver's lookup tables and the template engines. Then everything loaded so far (Django, the
apps, the URL patterns: a few hundred thousand objects that live as long as the worker) moves to the garbage
collector's permanent generation, so a full collection no longer walks them in the middle of a request.
"""

from __future__ import annotations

import gc
from typing import Any

from django.template import engines
from django.urls import get_resolver


def post_worker_init(worker: Any) -> None:
    resolver = get_resolver()
    resolver.url_patterns  # noqa: B018 - imports every URLconf
    resolver.reverse_dict  # noqa: B018 - builds the reverse lookup tables
    engines.all()
    gc.collect()
    gc.freeze()
    worker.log.info("worker %s ready: URL resolver built, %d objects frozen", worker.pid, gc.get_freeze_count())

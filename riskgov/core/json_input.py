"""Reading JSON sent by clients: nesting is bounded before parsing, so a deep document is a 400, not a crash.

Python's parser recurses once per `[` or `{`; a body of 100,000 brackets ends in RecursionError. Every view
that reads a JSON body goes through `json_body_bounded` and `json_loads` (plain views) or
`api.parsers.BoundedJSONParser` (DRF).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from riskgov.core.errors import error_body

MAX_JSON_DEPTH = 64  # our deepest document (an EIP-712 payload) nests 4 levels

# A string literal (skipped whole, so brackets inside it do not count) or one bracket.
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


class JSONTooDeep(ValueError):
    """The document nests arrays and objects deeper than allowed."""


def json_depth_check(raw: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Raise JSONTooDeep when `raw` nests arrays/objects more than `max_depth` levels (linear scan)."""
    data = raw.encode() if isinstance(raw, str) else raw
    depth = 0
    for match in _TOKEN.finditer(data):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                raise JSONTooDeep(f"JSON nests deeper than {max_depth} levels.")
        elif token in (b"]", b"}"):
            depth -= 1


def json_loads(raw: bytes | str, *, max_depth: int = MAX_JSON_DEPTH, **kwargs: Any) -> Any:
    """`json.loads` after `json_depth_check`; raises ValueError (JSONTooDeep or JSONDecodeError) on bad input."""
    json_depth_check(raw, max_depth=max_depth)
    return json.loads(raw, **kwargs)


def json_body_bounded(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For plain (non-DRF) JSON views: a body nesting deeper than MAX_JSON_DEPTH is answered 400 in the API
    error shape before the view (or its rate limiter) reads it."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            json_depth_check(request.body)
        except JSONTooDeep as error:
            return JsonResponse(error_body(code="parse_error", message=f"JSON parse error - {error}"), status=400)
        return view(request, *args, **kwargs)

    return wrapped

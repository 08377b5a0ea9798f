"""Pagination of API collections: limit/offset with a ceiling, so one request never reads a whole table."""

from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class PagePagination(LimitOffsetPagination):
    """``?limit=&offset=``; answers ``{"count", "next", "previous", "results"}``."""

    default_limit = DEFAULT_LIMIT
    max_limit = MAX_LIMIT

"""`/api/docs/` and `/api/redoc/` load every script and stylesheet from this site (drf-spectacular-sidecar's
static files), so the pages work offline and under the Content-Security-Policy: no CDN, no inline script."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

ASSET = re.compile(r'<(?:script|link)\b[^>]*?(?:src|href)="([^"]+)"')
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>")


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "bundle"), [("/api/docs/", "swagger-ui-bundle.js"), ("/api/redoc/", "redoc")])
def test_docs_pages_load_their_assets_from_this_site(client: Client, path: str, bundle: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assets = ASSET.findall(html)
    assert any(bundle in asset for asset in assets), assets
    assert not INLINE_SCRIPT.search(html)
    for asset in assets:
        assert not re.match(r"(https?:)?//", asset), f"{asset} is fetched from another site"
        if asset.startswith("/static/"):
            assert finders.find(asset.removeprefix("/static/")), f"{asset} is not among the static files"
        else:  # Swagger UI's start script: a second request to the view itself (?script)
            script = client.get(asset)
            assert script.status_code == 200 and b"SwaggerUIBundle" in script.content
            assert b"/api/schema/" in script.content
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "cdn" not in policy.lower()

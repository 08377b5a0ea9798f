"""The project's own 404 and 500 pages (templates/404.html, 500.html), never Django's debug pages that list the
URL patterns, in the test settings and in the `make run` demo's settings."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

import config.urls
from tests.conftest import REPO_ROOT


def _broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug in a view")


# This module is the URLconf of the 500 test: the project's routes and handlers plus one view that fails.
urlpatterns = [path("broken/", _broken), *config.urls.urlpatterns]
handler404 = config.urls.handler404
handler500 = config.urls.handler500

DEBUG_PAGE_MARKS = ("Using the URLconf", "urlpatterns", "Traceback", "DEBUG = True", "RuntimeError")


@pytest.mark.django_db
def test_404_is_the_projects_page(client: Client) -> None:
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert next(t.name for t in response.templates) == "404.html"
    html = response.content.decode()
    assert "Page not found" in html and "<code>/no/such/page/</code>" in html and 'class="topbar"' in html
    assert not any(mark in html for mark in DEBUG_PAGE_MARKS)


@pytest.mark.django_db
def test_404_under_the_api_stays_json(client: Client) -> None:
    response = client.get("/api/no-such-thing/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
@pytest.mark.urls("tests.core.test_error_pages")
def test_500_is_the_projects_page() -> None:
    response = Client(raise_request_exception=False).get("/broken/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Server error" in html and 'id="error-500"' in html and "/static/css/riskgov.css" in html
    assert not any(mark in html for mark in DEBUG_PAGE_MARKS)


def test_the_demo_settings_keep_debug_off_and_serve_static_files() -> None:
    """`make run` uses config.settings.local: debug off unless DJANGO_DEBUG says otherwise, and WhiteNoise
    serves the static files that runserver stops serving without debug."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_DEBUG"} | {
        "DJANGO_SETTINGS_MODULE": "config.settings.local"
    }
    code = (
        "import config.settings.local as s; "
        "print(s.DEBUG, s.WHITENOISE_USE_FINDERS, 'whitenoise.middleware.WhiteNoiseMiddleware' in s.MIDDLEWARE)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["False", "True", "True"]

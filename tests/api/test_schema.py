"""The OpenAPI schema says what the server answers: nullable times, pages where lists are paged, one error
component, the error statuses of each operation, and a declared permission on every API write."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client) -> dict:
    response = client.get(reverse("api-schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def _component(schema: dict, ref: str) -> dict:
    return schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]


def _response_schema(schema: dict, path: str, method: str, status: str = "200") -> dict:
    content = schema["paths"][path][method]["responses"][status]["content"]
    return content["application/json"]["schema"]


def test_proposal_times_that_may_be_unset_are_nullable(schema):
    proposal = _component(schema, _response_schema(schema, "/governance/api/proposals/{proposal_id}/", "get")["$ref"])
    for name in ("queued_at", "eta", "executed_at"):
        assert proposal["properties"][name].get("nullable") is True, name


def test_the_coverage_run_list_is_documented_as_the_page_it_answers(schema, client):
    page = _component(schema, _response_schema(schema, "/insurance/api/runs/", "get")["$ref"])
    assert set(page["properties"]) == {"count", "next", "previous", "results"}
    assert page["properties"]["results"]["type"] == "array"
    assert set(client.get(reverse("insurance:api-runs")).json()) == {"count", "next", "previous", "results"}


def test_one_error_component_and_the_statuses_each_operation_may_answer(schema):
    error = _component(schema, "Error")
    detail = _component(schema, error["properties"]["error"]["$ref"])
    assert set(detail["properties"]) == {"code", "message", "field"}
    assert detail["properties"]["field"]["nullable"] is True
    operations = schema["paths"]
    statuses = {
        ("/api/markets/{symbol}/", "get"): {"200", "400", "401", "404"},
        ("/api/positions/", "get"): {"200", "400", "401"},
        ("/risk/api/alerts/{alert_id}/acknowledge/", "post"): {"200", "400", "401", "403", "404", "409", "415", "429"},
        ("/insurance/api/runs/{run_id}/cancel/", "post"): {"200", "400", "401", "403", "404", "409", "429"},
        ("/governance/api/proposals/{proposal_id}/votes/", "post"): {"201", "400", "404", "409", "415", "429", "503"},
    }
    for (path, method), expected in statuses.items():
        assert set(operations[path][method]["responses"]) == expected, (path, method)
    for path, methods in operations.items():
        for method, operation in methods.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    body = response["content"]["application/json"]["schema"]
                    assert body == {"$ref": "#/components/schemas/Error"}, (path, method, status)


def test_token_and_session_are_the_security_schemes_and_basic_is_not(schema):
    assert set(schema["components"]["securitySchemes"]) == {"cookieAuth", "tokenAuth"}


def test_every_api_write_declares_its_permission():
    """A view that writes names who may (a named permission, or an explicit open write such as a signed ballot)."""
    from django.urls import URLPattern, URLResolver, get_resolver
    from rest_framework.permissions import AllowAny

    def views(patterns: list, prefix: str = "/"):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from views(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern) and "api/" in prefix + str(pattern.pattern):
                view_class = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
                if view_class is not None:
                    yield prefix + str(pattern.pattern), view_class

    checked = 0
    for route, view_class in views(get_resolver().url_patterns):
        if not any(hasattr(view_class, method) for method in ("post", "put", "patch", "delete")):
            continue
        permissions = view_class.permission_classes
        assert permissions and AllowAny not in permissions, route
        checked += 1
    assert checked >= 5

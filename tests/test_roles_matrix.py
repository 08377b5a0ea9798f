"""Role × action matrix: every page, write endpoint and admin action, against every role, with the exact answer.

The actions are collected from the URL resolver and the admin registry, so a new view, API or admin action
that nobody listed here fails `test_every_route_is_in_the_matrix`, and an API that writes without declaring
who may fails `test_every_api_write_declares_who_may`. Each request runs in a savepoint that is rolled back,
so every role meets the same rows.

Answers: "login" is a redirect to the login page; a number is the status code.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal as D
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import transaction
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RoutePattern
from django.utils import timezone

from insurance.models import CoverageRun, InsuranceFund, RunStatus
from riskgov.core.models import AuditRecord, Permission
from riskgov.core.permissions import granted_permissions
from riskgov.core.roles import ROLE_PERMISSIONS, Role, role_assign, roles_sync
from riskgov.demo.services.markets import DEMO_ROLE_USERS, demo_role_users_ensure
from riskgov.governance.models import Proposal, ProposalState, Vote
from riskgov.markets.models import ExposureSnapshot, Market
from riskgov.markets.services.exposure import exposure_snapshot_take
from riskgov.monitoring.models import Alert, AlertKind, AlertRule, MarginRecommendation, RecommendationStatus
from riskgov.monitoring.tasks import recommend_margins
from riskgov.reports.domain.periods import period_last_complete
from riskgov.reports.models import ReportSchedule
from riskgov.reports.services.reports import exposure_report_generate, report_subscription_create
from tests.governance import conftest as governance
from tests.governance.conftest import WAD, FakeChain, make_proposal, signed
from tests.monitoring.conftest import add_hourly_prices, make_market

pytestmark = pytest.mark.django_db
chain, holders, gov_settings = governance.chain, governance.holders, governance.gov_settings  # the fixtures

LOGIN = "login"
ROLES = ("anonymous", "plain", "staff", "viewer", "steward", "guardian", "reporter", "superuser")
ROLE_OF = {
    "viewer": Role.VIEWER,
    "steward": Role.RISK_STEWARD,
    "guardian": Role.GUARDIAN,
    "reporter": Role.REPORT_MANAGER,
}
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


def holds(role: str, permission: Permission) -> bool:
    if role == "superuser":
        return True
    return role in ROLE_OF and permission in ROLE_PERMISSIONS[ROLE_OF[role]]


# ------------------------------------------------------------------ what each action answers


@dataclass(frozen=True)
class Everyone:
    """The same answer for every role (a public read, a 405 or a 404)."""

    answer: int | str

    def expected(self, role: str) -> int | str:
        return self.answer


@dataclass(frozen=True)
class Open:
    """A write that no named permission guards, because `reason` authorises it."""

    answer: int | str
    reason: str

    def expected(self, role: str) -> int | str:
        return self.answer


@dataclass(frozen=True)
class Needs:
    """A named permission: anonymous visitors get `anonymous` (the login page, or 401 from an API), signed-in
    accounts without it 403, and those holding it `answer`."""

    permission: Permission
    answer: int | str
    anonymous: int | str = LOGIN

    def expected(self, role: str) -> int | str:
        if role == "anonymous":
            return self.anonymous
        return self.answer if holds(role, self.permission) else 403


@dataclass(frozen=True)
class Shows:
    """A public page that shows more to those holding a permission (asserted separately)."""

    answer: int | str

    def expected(self, role: str) -> int | str:
        return self.answer


@dataclass(frozen=True)
class SignedIn:
    """Any signed-in account acts on its own rows (`reason`); anonymous visitors get the login page."""

    answer: int | str
    reason: str

    def expected(self, role: str) -> int | str:
        return LOGIN if role == "anonymous" else self.answer


Spec = Everyone | Open | Needs | Shows | SignedIn
GET_ONLY: dict[str, Spec] = {"GET": Everyone(200), "POST": Everyone(405)}
API_READ: dict[str, Spec] = {"GET": Everyone(200), "POST": Everyone(405)}
WALLET = "the wallet signed in (SIWE) is the authorisation; the service checks its voting power"
DEMO = "demo mode only (404 otherwise): the Anvil dev keys of the local chain"

MATRIX: dict[str, dict[str, Spec]] = {
    # markets
    "riskgov:dashboard": GET_ONLY,
    "riskgov:snapshot-run": {"GET": Needs(Permission.TAKE_SNAPSHOT, 405), "POST": Needs(Permission.TAKE_SNAPSHOT, 302)},
    "riskgov:market-list": GET_ONLY,
    "riskgov:market-detail": GET_ONLY,
    "riskgov:position-list": GET_ONLY,
    "riskgov:position-export": GET_ONLY,
    "riskgov:account-detail": {"GET": Everyone(404), "POST": Everyone(405)},  # the holder has no positions
    "riskgov:import": {"GET": Needs(Permission.IMPORT_DATA, 200), "POST": Needs(Permission.IMPORT_DATA, 400)},
    "riskgov:import-job": {  # no such job: 404 for those who may see one
        "GET": Needs(Permission.IMPORT_DATA, 404),
        "POST": Needs(Permission.IMPORT_DATA, 405),
    },
    "riskgov:api-markets": API_READ,
    "riskgov:api-market": API_READ,
    "riskgov:api-market-parameters": API_READ,
    "riskgov:api-positions": API_READ,
    "riskgov:api-snapshots": API_READ,
    "riskgov:api-snapshots-latest": API_READ,
    "riskgov:api-snapshot": API_READ,
    "riskgov:api-liquidation-map": API_READ,
    "riskgov:api-shocks": API_READ,
    # chain
    "chain:status": {"GET": Needs(Permission.VIEW_STAFF_PAGES, 200), "POST": Needs(Permission.VIEW_STAFF_PAGES, 405)},
    # monitoring
    "monitoring:alerts": {"GET": Shows(200), "POST": Everyone(405)},
    "monitoring:alert-banner": GET_ONLY,
    "monitoring:alert-acknowledge": {
        "GET": Needs(Permission.ACKNOWLEDGE_ALERT, 405),
        "POST": Needs(Permission.ACKNOWLEDGE_ALERT, 400),  # no reason given: the page with the field's error
    },
    "monitoring:alert-snooze": {
        "GET": Needs(Permission.ACKNOWLEDGE_ALERT, 405),
        "POST": Needs(Permission.ACKNOWLEDGE_ALERT, 400),
    },
    "monitoring:alert-resolve": {
        "GET": Needs(Permission.ACKNOWLEDGE_ALERT, 405),
        "POST": Needs(Permission.ACKNOWLEDGE_ALERT, 400),
    },
    "monitoring:recommendations": {"GET": Shows(200), "POST": Everyone(405)},
    "monitoring:recommendation-apply": {
        "GET": Needs(Permission.DECIDE_RECOMMENDATION, 405),
        "POST": Needs(Permission.DECIDE_RECOMMENDATION, 302),
    },
    "monitoring:recommendation-dismiss": {
        "GET": Needs(Permission.DECIDE_RECOMMENDATION, 405),
        "POST": Needs(Permission.DECIDE_RECOMMENDATION, 302),
    },
    "monitoring:recommendation-propose": {
        "GET": Needs(Permission.DECIDE_RECOMMENDATION, 405),
        "POST": Needs(Permission.DECIDE_RECOMMENDATION, 302),
    },
    "monitoring:recommendation-coverage": GET_ONLY,
    "monitoring:recommendation-coverage-start": {
        "GET": Needs(Permission.DECIDE_RECOMMENDATION, 405),
        "POST": Needs(Permission.DECIDE_RECOMMENDATION, 302),
    },
    "monitoring:market-policy": {"GET": Shows(200), "POST": Everyone(405)},
    "monitoring:market-backtest": GET_ONLY,
    "monitoring:liquidations": GET_ONLY,
    "monitoring:coverage-backtest-start": {  # no days given: the form's errors
        "GET": Needs(Permission.MANAGE_MARGIN_POLICY, 405),
        "POST": Needs(Permission.MANAGE_MARGIN_POLICY, 400),
    },
    "monitoring:api-alerts": API_READ,
    "monitoring:api-alert": API_READ,
    "monitoring:api-alert-acknowledge": {
        "GET": Needs(Permission.ACKNOWLEDGE_ALERT, 405, anonymous=401),
        "POST": Needs(Permission.ACKNOWLEDGE_ALERT, 400, anonymous=401),  # no reason given
    },
    "monitoring:api-alert-snooze": {
        "GET": Needs(Permission.ACKNOWLEDGE_ALERT, 405, anonymous=401),
        "POST": Needs(Permission.ACKNOWLEDGE_ALERT, 400, anonymous=401),
    },
    "monitoring:api-alert-resolve": {
        "GET": Needs(Permission.ACKNOWLEDGE_ALERT, 405, anonymous=401),
        "POST": Needs(Permission.ACKNOWLEDGE_ALERT, 400, anonymous=401),
    },
    # insurance
    "insurance:home": GET_ONLY,
    "insurance:run-new": {
        "GET": Needs(Permission.MANAGE_COVERAGE_RUNS, 200),
        "POST": Needs(Permission.MANAGE_COVERAGE_RUNS, 400),  # an empty form
    },
    "insurance:run-compare": GET_ONLY,
    "insurance:run-detail": {"GET": Shows(200), "POST": Everyone(405)},
    "insurance:run-progress": GET_ONLY,
    "insurance:run-cancel": {
        "GET": Needs(Permission.MANAGE_COVERAGE_RUNS, 405),
        "POST": Needs(Permission.MANAGE_COVERAGE_RUNS, 302),
    },
    "insurance:run-csv": {"GET": Everyone(404), "POST": Everyone(405)},  # the run has not succeeded yet
    "insurance:run-json": GET_ONLY,
    "insurance:scenario-list": GET_ONLY,
    "insurance:scenario-new": {
        "GET": Needs(Permission.MANAGE_COVERAGE_RUNS, 200),
        "POST": Needs(Permission.MANAGE_COVERAGE_RUNS, 400),  # an empty form
    },
    "insurance:scenario-compare": GET_ONLY,
    "insurance:scenario-detail": {"GET": Shows(200), "POST": Everyone(405)},
    "insurance:scenario-edit": {  # a library shock: only replays are edited
        "GET": Needs(Permission.MANAGE_COVERAGE_RUNS, 404),
        "POST": Needs(Permission.MANAGE_COVERAGE_RUNS, 404),
    },
    "insurance:scenario-run": {
        "GET": Needs(Permission.MANAGE_COVERAGE_RUNS, 405),
        "POST": Needs(Permission.MANAGE_COVERAGE_RUNS, 400),  # an empty form
    },
    "insurance:api-runs": {
        "GET": Everyone(200),
        "POST": Needs(Permission.MANAGE_COVERAGE_RUNS, 202, anonymous=401),  # an empty body: a run of the defaults
    },
    "insurance:api-run-detail": API_READ,
    "insurance:api-run-cancel": {
        "GET": Needs(Permission.MANAGE_COVERAGE_RUNS, 405, anonymous=401),
        "POST": Needs(Permission.MANAGE_COVERAGE_RUNS, 200, anonymous=401),
    },
    # reports
    "reports:report-list": {"GET": Shows(200), "POST": Everyone(405)},
    "reports:generate": {"GET": Needs(Permission.MANAGE_REPORTS, 405), "POST": Needs(Permission.MANAGE_REPORTS, 302)},
    "reports:schedules": {"GET": Shows(200), "POST": Everyone(405)},
    "reports:document-css": GET_ONLY,
    "reports:subscribe": {
        "GET": Everyone(405),
        "POST": Open(302, "a report manager, or the holder signed in with their wallet; anyone else is told so"),
    },
    "reports:unsubscribe": {"GET": Everyone(200), "POST": Open(200, "the token in the e-mailed link")},
    "reports:subscription-confirm": {"GET": Everyone(404), "POST": Everyone(405)},  # not a confirmation token
    "reports:report-detail": {"GET": Shows(200), "POST": Everyone(405)},
    "reports:report-csv": GET_ONLY,
    "reports:report-json": GET_ONLY,
    "reports:report-pdf": GET_ONLY,
    "reports:api-reports": API_READ,
    "reports:api-report": API_READ,
    "reports:api-report-deliveries": {
        "GET": Needs(Permission.VIEW_STAFF_PAGES, 200, anonymous=401),
        "POST": Needs(Permission.VIEW_STAFF_PAGES, 405, anonymous=401),
    },
    "reports:api-report-csv": API_READ,
    "reports:api-report-pdf": API_READ,
    # governance
    "governance:proposal-list": GET_ONLY,
    "governance:proposal-new": {"GET": Everyone(200), "POST": Open(400, WALLET)},
    "governance:proposal-detail": {"GET": Shows(200), "POST": Everyone(405)},
    "governance:proposal-tally": GET_ONLY,
    "governance:proposal-coverage": GET_ONLY,
    "governance:proposal-cancel": {
        "GET": Everyone(200),  # the confirmation step
        "POST": Open(302, "the proposer's wallet before voting starts, or a guardian's cancel permission"),
    },
    "governance:proposal-voters": {"GET": Everyone(302), "POST": Everyone(405)},  # without htmx: the page
    "governance:proposal-voters-csv": GET_ONLY,
    "governance:impact-preview-start": {"GET": Everyone(405), "POST": Open(400, WALLET)},
    "governance:impact-preview": {"GET": Everyone(404), "POST": Everyone(405)},  # no such preview
    "governance:proposal-queue": {
        "GET": Needs(Permission.QUEUE_PROPOSAL, 405),
        "POST": Needs(Permission.QUEUE_PROPOSAL, 302),
    },
    "governance:proposal-execute": {
        "GET": Needs(Permission.EXECUTE_PROPOSAL, 405),
        "POST": Needs(Permission.EXECUTE_PROPOSAL, 302),
    },
    "governance:proposal-veto": {
        "GET": Needs(Permission.VETO_PROPOSAL, 405),
        "POST": Needs(Permission.VETO_PROPOSAL, 302),
    },
    "governance:proposal-recount": {
        "GET": Everyone(405),
        "POST": Open(302, "a public recount of public signatures (rate-limited; audited only when signed in)"),
    },
    "governance:proposal-onchain-tx": {"GET": Everyone(400), "POST": Everyone(405)},  # no action given
    "governance:proposal-onchain-proposed": {
        "GET": Everyone(405),
        "POST": Open(409, "the propose transaction's receipt on the chain is the evidence"),  # an off-chain proposal
    },
    "governance:proposal-onchain-refresh": {
        "GET": Everyone(405),
        "POST": Open(409, "reads the chain only (rate-limited)"),  # an off-chain proposal
    },
    "governance:notifications": {
        "GET": Everyone(200),
        "POST": Open(400, "an e-mail is confirmed by its double opt-in link; a webhook needs a wallet or account"),
    },
    "governance:notifications-confirm": {"GET": Everyone(404), "POST": Everyone(405)},  # not a notification token
    "governance:notifications-unsubscribe": {"GET": Everyone(404), "POST": Open(404, "the signed token in the link")},
    "governance:delegate-list": GET_ONLY,
    "governance:holder-detail": GET_ONLY,
    "governance:api-delegation-typed-data": {"GET": Everyone(400), "POST": Everyone(405)},  # no delegatee given
    "governance:api-delegation-relays": {
        "GET": Everyone(405),
        "POST": Open(400, "the holder's delegateBySig signature authorises the delegation; anyone may relay it"),
    },
    "governance:api-delegation-relay": {"GET": Everyone(404), "POST": Everyone(405)},  # no such relay
    "governance:api-statements": {
        "GET": Everyone(405),
        "POST": Open(400, "the delegate's signature over the statement authorises it"),
    },
    "governance:api-statement-typed-data": GET_ONLY,
    "governance:api-proposals": API_READ,
    "governance:api-proposal": API_READ,
    "governance:api-votes": {
        "GET": Everyone(200),
        "POST": Open(400, "the voter's EIP-712 signature authorises the vote; anyone may relay it"),
    },
    "governance:api-ballot": {"GET": Everyone(400), "POST": Everyone(405)},  # no voter given
    "governance:api-tally": API_READ,
    "auth:siwe-message": {"GET": Everyone(405), "POST": Open(400, "issues a sign-in message: no account needed")},
    "auth:siwe-verify": {"GET": Everyone(405), "POST": Open(401, "the wallet's EIP-4361 signature signs in")},
    "auth:sign-out": {"GET": Everyone(405), "POST": Open(302, "ends the visitor's own wallet session")},
    "auth:wallet-status": GET_ONLY,
    "auth:demo-accounts": {"GET": Everyone(404), "POST": Everyone(405)},
    "auth:demo-sign": {"GET": Everyone(405), "POST": Open(404, DEMO)},
    "auth:demo-delegate": {"GET": Everyone(405), "POST": Open(404, DEMO)},
    "auth:demo-send": {"GET": Everyone(405), "POST": Open(404, DEMO)},
    # the API's own description, API tokens, health
    "api-schema": GET_ONLY,
    "api-docs": GET_ONLY,
    "api-redoc": GET_ONLY,
    "api-token": {
        "GET": SignedIn(200, "an account's own token"),
        "POST": SignedIn(400, "each account creates or revokes its own token, with its own permissions"),  # no action
    },
    "healthz": GET_ONLY,
}


# ------------------------------------------------------------------ the routes, from the resolver


@dataclass(frozen=True)
class Route:
    name: str
    pattern: str
    params: tuple[str, ...]
    callback: Any


def _params(pattern: Any) -> list[str]:
    if isinstance(pattern, RoutePattern):
        return list(pattern.converters)
    return list(pattern.regex.groupindex)


def project_routes() -> list[Route]:
    """Every named URL outside the admin and static files, with the parameters it takes."""

    def walk(patterns: list[Any], prefix: str, namespace: str | None, params: list[str]) -> Iterator[Route]:
        for entry in patterns:
            found = params + _params(entry.pattern)
            if isinstance(entry, URLResolver):
                if entry.namespace == "admin" or entry.app_name == "admin":
                    continue
                yield from walk(entry.url_patterns, prefix + str(entry.pattern), entry.namespace or namespace, found)
            elif isinstance(entry, URLPattern) and entry.name:
                name = f"{namespace}:{entry.name}" if namespace else entry.name
                yield Route(name, prefix + str(entry.pattern), tuple(found), entry.callback)

    return sorted(walk(get_resolver().url_patterns, "/", None, []), key=lambda route: route.name)


def view_class(route: Route) -> Any:
    return getattr(route.callback, "cls", None) or getattr(route.callback, "view_class", None)


def api_methods(route: Route) -> list[str]:
    """The unsafe methods a DRF view answers (none for a plain Django view)."""
    cls = view_class(route)
    if cls is None or not hasattr(cls, "permission_classes"):
        return []
    handlers = [m for m in UNSAFE if hasattr(cls, m.lower())]
    return [m for m in handlers if m in [a.upper() for a in getattr(cls, "http_method_names", [])]]


# ------------------------------------------------------------------ the rows every role meets


@dataclass
class World:
    market: Market
    proposal: Proposal
    recommendation: MarginRecommendation
    alert: Alert
    run: CoverageRun
    report_id: int
    token: str
    snapshot: ExposureSnapshot
    address: str


@pytest.fixture
def world(chain: FakeChain, holders: list[Any], gov_settings: Any) -> World:
    cache.clear()  # rate-limit counters of earlier tests (this suite's own Redis database)
    market = make_market("ETH", automatic=False)
    add_hourly_prices(market, sigma_hourly=0.0016, hours=24 * 3)
    recommend_margins.apply().get()
    recommendation = MarginRecommendation.objects.filter(status=RecommendationStatus.PENDING).first()
    if recommendation is None:
        recommendation = MarginRecommendation.objects.create(
            market=market,
            computed_at=timezone.now(),
            values={"mmr": "0.04"},
            evidence={"within_steward_bounds": True},
        )
    chain.powers[holders[0].address] = 50_000 * WAD
    proposal = make_proposal(chain, holders[0], now=timezone.now() - timedelta(seconds=1), mmr="0.011")
    rule = AlertRule.objects.create(name="OI", kind=AlertKind.OI_SHARE_OF_CAP_ABOVE, threshold=D("0.0001"))
    now = timezone.now()
    alert = Alert.objects.create(rule=rule, market=market, opened_at=now, last_seen_at=now, summary="OI above")
    fund = InsuranceFund.objects.create(name="Fund")
    run = CoverageRun.objects.create(
        label="queued", requested_by="test", fund=fund, fund_balance=D("1000"), paths=10, steps=1,
        horizon_days=D("1"), impact_coefficient=D("0"), seed=1, chunk_size=10, engine_version="test",
    )  # fmt: skip
    schedule = ReportSchedule.objects.order_by("pk").first()
    assert schedule is not None, "the migrations create the default report schedules"
    subscription = report_subscription_create(schedule=schedule, email="ops@example.org", created_by="test")
    snapshot = exposure_snapshot_take(taken_at=now)[0]
    report = _report(schedule)
    return World(market, proposal, recommendation, alert, run, report, subscription.token, snapshot, holders[1].address)


def _report(schedule: ReportSchedule) -> int:
    period = period_last_complete(schedule.cadence, timezone.now())
    return int(exposure_report_generate(schedule=schedule, period=period, requested_by="test").report.pk)


def url_params(world: World) -> dict[str, Any]:
    return {
        "symbol": world.market.symbol,
        "proposal_id": world.proposal.pk,
        "recommendation_id": world.recommendation.pk,
        "alert_id": world.alert.pk,
        "run_id": world.run.pk,
        "scenario": "march_2020",
        "report_id": world.report_id,
        "token": world.token,
        "snapshot_id": world.snapshot.pk,
        "address": world.address,
        "preview_id": 999_999,
        "relay_id": 999_999,
        "job_id": 999_999,
    }


@pytest.fixture
def accounts(world: World) -> dict[str, Any]:
    users = get_user_model()
    found: dict[str, Any] = {"anonymous": None}
    found["plain"] = users.objects.create_user("plain", password="pw")
    found["staff"] = users.objects.create_user("staff", password="pw", is_staff=True)  # staff, but no role
    for name, role in ROLE_OF.items():
        found[name] = users.objects.create_user(name, password="pw", is_staff=True)
        role_assign(user=found[name], roles=[role])
    found["superuser"] = users.objects.create_superuser("root", password="pw")
    return found


def answer(response: Any) -> int | str:
    if response.status_code == 302 and response["Location"].startswith(str(settings.LOGIN_URL)):
        return LOGIN
    return int(response.status_code)


def ask(client: Client, method: str, url: str) -> Any:
    """One request in a savepoint rolled back afterwards: the next role meets the same rows."""
    with transaction.atomic():
        response = client.generic(method, url)
        transaction.set_rollback(True)
    return response


def clients(accounts: dict[str, Any]) -> Iterator[tuple[str, Client]]:
    for role in ROLES:
        client = Client()
        if accounts[role] is not None:
            client.force_login(accounts[role])
        yield role, client


# ------------------------------------------------------------------ the tests


def test_every_route_is_in_the_matrix() -> None:
    routes = {route.name for route in project_routes()}
    missing = sorted(routes - set(MATRIX))
    assert not missing, f"routes without a row in MATRIX (say who may call each method): {missing}"


def test_every_write_in_the_matrix_says_who_may() -> None:
    """A write either asks for a named permission, or says what else authorises it (Open with a reason)."""
    unguarded = [
        f"{name} {method}"
        for name, row in MATRIX.items()
        for method, spec in row.items()
        if method in UNSAFE
        and isinstance(spec, Everyone | Shows)
        and spec.answer not in (404, 405)  # nothing is written
    ]
    assert not unguarded, f"writes open to anyone without a reason: {unguarded}"


def test_every_api_write_declares_who_may() -> None:
    """A DRF view that answers an unsafe method declares a named permission or an open write with its reason."""
    undeclared = []
    for route in project_routes():
        if not api_methods(route):
            continue
        classes = view_class(route).permission_classes
        declared = any(hasattr(cls, "named_permission") or hasattr(cls, "open_write_reason") for cls in classes)
        if not declared:
            undeclared.append(f"{route.name} ({', '.join(c.__name__ for c in classes)})")
    assert not undeclared, f"APIs that write without a declared named permission: {undeclared}"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_role_by_action_matrix(world: World, accounts: dict[str, Any], method: str) -> None:
    params = url_params(world)
    expected: dict[str, dict[str, int | str]] = {}
    got: dict[str, dict[str, int | str]] = {}
    routes = [route for route in project_routes() if route.name in MATRIX and method in MATRIX[route.name]]
    urls = {}
    for route in routes:
        unknown = [name for name in route.params if name not in params]
        assert not unknown, f"{route.name}: give url_params a value for {unknown}"
        urls[route.name] = reverse(route.name, kwargs={name: params[name] for name in route.params})
    for role, client in clients(accounts):
        for route in routes:
            got.setdefault(route.name, {})[role] = answer(ask(client, method, urls[route.name]))
            expected.setdefault(route.name, {})[role] = MATRIX[route.name][method].expected(role)
    mismatches = {
        (name, role): f"{got[name][role]} (expected {expected[name][role]})"
        for name in got
        for role in ROLES
        if got[name][role] != expected[name][role]
    }
    assert mismatches == {}


# ------------------------------------------------------------------ the admin


PROJECT_APPS = {"core", "markets", "governance", "monitoring", "reports", "insurance", "chain"}
ADMIN_ACTIONS: dict[tuple[str, str], Permission] = {
    ("monitoring.marginrecommendation", "apply_selected"): Permission.DECIDE_RECOMMENDATION,
    ("monitoring.marginrecommendation", "dismiss_selected"): Permission.DECIDE_RECOMMENDATION,
    ("insurance.coveragerun", "cancel_runs"): Permission.MANAGE_COVERAGE_RUNS,
}
ADMIN_ADD_PAGES: dict[str, Permission] = {
    "markets.marginparameters": Permission.CHANGE_PARAMETERS,  # the steward's parameter change
    "monitoring.marginpolicy": Permission.MANAGE_MARGIN_POLICY,
}
ADMINS = sorted((model._meta.label_lower, model_admin) for model, model_admin in admin.site._registry.items())


def admin_changelist_expected(role: str, label: str) -> int | str:
    if role in ("anonymous", "plain"):
        return LOGIN  # the admin lets in staff accounts only
    if role == "superuser":
        return 200
    if role == "staff":
        return 403  # staff without a role sees nothing
    return 200 if label.split(".", maxsplit=1)[0] in PROJECT_APPS else 403  # every role reads the project's rows


def test_admin_changelists_by_role(world: World, accounts: dict[str, Any]) -> None:
    got: dict[tuple[str, str], int | str] = {}
    expected: dict[tuple[str, str], int | str] = {}
    for role, client in clients(accounts):
        for label, _ in ADMINS:
            app_label, model_name = label.split(".")
            url = reverse(f"admin:{app_label}_{model_name}_changelist")
            got[(label, role)] = answer(ask(client, "GET", url))
            expected[(label, role)] = admin_changelist_expected(role, label)
    assert {key: value for key, value in got.items() if value != expected[key]} == {}


def test_admin_parameter_change_and_policy_pages_ask_for_the_named_permission(
    world: World, accounts: dict[str, Any]
) -> None:
    got: dict[tuple[str, str], int | str] = {}
    expected: dict[tuple[str, str], int | str] = {}
    for role, client in clients(accounts):
        for label, permission in ADMIN_ADD_PAGES.items():
            app_label, model_name = label.split(".")
            url = reverse(f"admin:{app_label}_{model_name}_add") + f"?market={world.market.pk}"
            got[(label, role)] = answer(ask(client, "GET", url))
            if role in ("anonymous", "plain"):
                expected[(label, role)] = LOGIN
            else:
                expected[(label, role)] = 200 if holds(role, permission) else 403
    assert {key: value for key, value in got.items() if value != expected[key]} == {}


def test_every_custom_admin_action_asks_for_a_named_permission(accounts: dict[str, Any]) -> None:
    """The project's admin actions; other apps' admins (Celery beat, tokens) are for superusers only, as the
    changelist test shows."""
    factory = RequestFactory()
    unlisted = []
    for role in ROLES[1:]:
        request = factory.get("/admin/")
        request.user = accounts[role]
        for label, model_admin in ADMINS:
            if label.split(".")[0] not in PROJECT_APPS:
                continue
            offered = set(model_admin.get_actions(request)) - {"delete_selected"}
            if role == "superuser":
                unlisted += [(label, name) for name in offered if (label, name) not in ADMIN_ACTIONS]
            wanted = {name for (lab, name), perm in ADMIN_ACTIONS.items() if lab == label and holds(role, perm)}
            if role in ("plain", "staff"):
                wanted = set()
            assert offered == wanted, (role, label)
    assert not unlisted, f"admin actions without a named permission in ADMIN_ACTIONS: {unlisted}"


# ------------------------------------------------------------------ what the answers mean


def test_a_staff_account_without_a_role_changes_nothing(world: World, accounts: dict[str, Any]) -> None:
    client = Client()
    client.force_login(accounts["staff"])
    client.post(reverse("monitoring:recommendation-apply", args=[world.recommendation.pk]))
    client.post(reverse("insurance:api-runs"), {"paths": 100}, content_type="application/json")
    queued = CoverageRun.objects.create(
        label="queued", requested_by="t", fund=world.run.fund, fund_balance=D("1"), paths=10, steps=1,
        horizon_days=D("1"), impact_coefficient=D("0"), seed=1, chunk_size=10, engine_version="t",
    )  # fmt: skip
    client.post(reverse("insurance:run-cancel", args=[queued.pk]))
    client.post(reverse("insurance:api-run-cancel", args=[queued.pk]))
    world.recommendation.refresh_from_db()
    queued.refresh_from_db()
    assert world.recommendation.status == RecommendationStatus.PENDING
    assert queued.status == RunStatus.QUEUED and CoverageRun.objects.count() == 2
    steward = Client()
    steward.force_login(accounts["steward"])
    steward.post(reverse("insurance:api-run-cancel", args=[queued.pk]))
    queued.refresh_from_db()
    assert queued.status == RunStatus.CANCELLED


def test_pages_show_each_action_only_to_those_allowed(world: World, accounts: dict[str, Any]) -> None:
    buttons = [
        (reverse("monitoring:recommendations"), "Apply (steward)", Permission.DECIDE_RECOMMENDATION),
        (reverse("monitoring:alerts"), "Edit rules", Permission.MANAGE_ALERT_RULES),
        (reverse("reports:report-list"), "Generate now", Permission.MANAGE_REPORTS),
        (reverse("reports:report-detail", args=[world.report_id]), "E-mail deliveries", Permission.VIEW_STAFF_PAGES),
        (reverse("riskgov:dashboard"), reverse("riskgov:snapshot-run"), Permission.TAKE_SNAPSHOT),
        (reverse("riskgov:dashboard"), f'href="{reverse("riskgov:import")}"', Permission.IMPORT_DATA),
        (reverse("insurance:run-detail", args=[world.run.pk]), "Cancel run", Permission.MANAGE_COVERAGE_RUNS),
        (
            reverse("insurance:scenario-detail", args=["march_2020"]),
            "Start stress run",
            Permission.MANAGE_COVERAGE_RUNS,
        ),
        (
            reverse("governance:proposal-detail", args=[world.proposal.pk]),
            reverse("governance:proposal-cancel", args=[world.proposal.pk]),
            Permission.CANCEL_PROPOSAL,  # nobody here is the proposer's wallet
        ),
    ]
    for role, client in clients(accounts):
        for url, text, permission in buttons:
            assert (text in client.get(url).content.decode()) == holds(role, permission), (role, url, text)


@pytest.mark.parametrize(
    ("target", "followed"),
    [
        ("//evil.example/", False),
        ("https://evil.example/risk/", False),
        ("///evil.example/", False),
        ("/\\evil.example/", False),
        ("/risk/recommendations/?status=all", True),
    ],
)
def test_recommendation_actions_follow_next_only_to_this_site(
    world: World, accounts: dict[str, Any], target: str, followed: bool
) -> None:
    client = Client()
    client.force_login(accounts["steward"])
    response = client.post(
        reverse("monitoring:recommendation-dismiss", args=[world.recommendation.pk]), {"next": target}
    )
    assert response.status_code == 302
    assert response["Location"] == (target if followed else reverse("monitoring:recommendations"))


def test_guardian_queues_vetoes_and_cancels_and_the_proposer_only_cancels_before_voting(
    world: World, accounts: dict[str, Any], chain: FakeChain, holders: list[Any]
) -> None:
    proposal = world.proposal
    proposer = Client()
    session = proposer.session
    session["siwe_address"] = holders[0].address
    session.save()
    with time_machine.travel(proposal.voting_starts_at + timedelta(seconds=1), tick=False):
        proposer.post(reverse("governance:proposal-cancel", args=[proposal.pk]))  # voting has started
        proposal.refresh_from_db()
        assert proposal.canceled_at is None
        guardian = Client()
        guardian.force_login(accounts["guardian"])
        response = guardian.post(reverse("governance:proposal-cancel", args=[proposal.pk]))
    assert response.status_code == 302
    proposal.refresh_from_db()
    assert proposal.state == ProposalState.CANCELED
    record = AuditRecord.objects.filter(action="proposal.canceled").latest("pk")
    assert record.actor == "guardian" and record.data["as_guardian"] is True


def test_vote_submitter_comes_only_from_a_csrf_checked_session(
    world: World, holders: list[Any], chain: FakeChain
) -> None:
    for holder in holders[1:4]:
        chain.powers[holder.address] = 10_000 * WAD
    proposal = world.proposal
    client = Client(enforce_csrf_checks=True)
    session = client.session
    session["siwe_address"] = holders[5].address
    session.save()
    url = reverse("governance:api-votes", args=[proposal.pk])

    def vote(voter: Any, **headers: str) -> Any:
        body = {**signed(proposal.pk, 1, voter), "submitted_by": holders[4].address}  # the body cannot say who
        with time_machine.travel(proposal.voting_starts_at + timedelta(seconds=5), tick=False):
            return client.post(url, body, content_type="application/json", **headers)

    assert vote(holders[1]).status_code == 201  # no CSRF token: the ballot counts, its relayer is anonymous
    client.get(reverse("governance:proposal-list"))  # the page sets the CSRF cookie
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    assert vote(holders[2], HTTP_X_CSRFTOKEN=token).status_code == 201
    submitted = dict(Vote.objects.filter(proposal=proposal).values_list("voter", "submitted_by"))
    assert submitted == {holders[1].address: "", holders[2].address: holders[5].address}


def test_roles_are_kept_in_step_and_syncing_twice_changes_nothing() -> None:
    steward = Group.objects.get(name=Role.RISK_STEWARD.value)
    codenames = set(steward.permissions.values_list("codename", flat=True))
    assert {p.value for p in ROLE_PERMISSIONS[Role.RISK_STEWARD]} <= codenames
    assert "veto_proposal" not in codenames and "manage_reports" not in codenames
    steward.permissions.clear()
    Group.objects.filter(name=Role.VIEWER.value).delete()
    first = roles_sync()
    second = roles_sync()
    assert first == second
    assert set(Group.objects.get(name=Role.RISK_STEWARD.value).permissions.values_list("codename", flat=True)) == (
        codenames
    )
    assert Group.objects.filter(name__in=[role.value for role in Role]).count() == len(Role)


def test_demo_logins_hold_their_role(db: None) -> None:
    created = demo_role_users_ensure()
    assert sorted(created) == sorted(DEMO_ROLE_USERS)
    assert demo_role_users_ensure() == []  # once
    users = get_user_model()
    for username, role in DEMO_ROLE_USERS.items():
        user = users.objects.get(username=username)
        assert user.is_staff and user.check_password(username) and not user.is_superuser
        assert granted_permissions(user) == ROLE_PERMISSIONS[role]

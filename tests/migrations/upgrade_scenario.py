"""Upgrading a database from the schema before the split of `riskgov` into apps, and back.

Run by ``tests/migrations/test_upgrade.py`` in a subprocess whose ``DATABASE_URL`` names a scratch
database, so the migrations (whose data migrations write through the default connection) never see
the suite's own test database::

    python -m tests.migrations.upgrade_scenario OUT.json

Three phases in turn: ``seed`` migrates the empty database to the leaf migrations from before the
split and writes a small protocol through the historical models of that state; ``upgrade`` runs
``migrate`` (the deploy path, post_migrate signal included); ``downgrade`` migrates back to the nodes
from before the split. What each phase finds goes to OUT.json: every row of every table (keyed by
table and column, which the split must not change), the content types, the foreign keys followed
across apps, and after ``upgrade`` what the application's own models and code resolve.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

from django.core.exceptions import ObjectDoesNotExist

#: The leaf migrations of the apps that changed, as they were before the split.
PRE_SPLIT = {
    "riskgov": "0009_monitoring_schedules",
    "chain": "0003_registry_update_market_cascade",
    "insurance": "0002_schedules",
}
#: The apps the models moved to; none existed before the split.
NEW_APPS = ("core", "markets", "governance", "monitoring", "reports")

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
ETH_ADDRESS = "0x" + "ab" * 20
BTC_ADDRESS = "0x" + "cd" * 20


def pre_split_targets(loader: Any) -> list[tuple[str, str | None]]:
    """Every app at its leaf, except the changed apps at their pre-split nodes and the new apps absent."""
    targets: list[tuple[str, str | None]] = [
        node for node in loader.graph.leaf_nodes() if node[0] not in PRE_SPLIT and node[0] not in NEW_APPS
    ]
    targets += sorted(PRE_SPLIT.items())
    return targets


# ------------------------------------------------------------------ reading


def _jsonable(value: Any) -> Any:
    from django.core.serializers.json import DjangoJSONEncoder

    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict | list):
        return json.loads(json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True))
    if isinstance(value, D):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    try:
        return json.loads(json.dumps(value, cls=DjangoJSONEncoder))
    except TypeError:
        return str(value)  # time zones, for instance


def table_rows(apps: Any) -> dict[str, dict[str, dict[str, Any]]]:
    """{table: {pk: {column: value}}} for every table of the state, read through its historical models."""
    tables: dict[str, dict[str, dict[str, Any]]] = {}
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.proxy or not meta.managed or meta.db_table in tables:
            continue
        fields = list(meta.concrete_fields)
        rows = model._base_manager.order_by("pk").values_list(*(f.attname for f in fields))
        tables[meta.db_table] = {
            str(row[fields.index(meta.pk)]): {f.column: _jsonable(v) for f, v in zip(fields, row, strict=True)}
            for row in rows
        }
    return tables


def content_types(apps: Any) -> dict[str, list[str]]:
    content_type = apps.get_model("contenttypes", "ContentType")
    return {str(pk): [app, model] for pk, app, model in content_type.objects.values_list("pk", "app_label", "model")}


def applied_migrations() -> list[list[str]]:
    from django.db import connection
    from django.db.migrations.recorder import MigrationRecorder

    return sorted([app, name] for app, name in MigrationRecorder(connection).applied_migrations())


def follow_relations(apps: Any, label: Callable[[str], str], ids: dict[str, int]) -> dict[str, Any]:
    """Foreign keys followed from the seeded rows, with `label(model)` giving the app of a moved model."""

    def model(name: str) -> Any:
        return apps.get_model(label(name), name)

    def get(name: str) -> Any:
        return model(name).objects.get(pk=ids[name])

    proposal, vote, execution = get("proposal"), get("vote"), get("proposalexecution")
    market = get("market")
    report_delivery, alert_delivery = get("reportdelivery"), get("alertdelivery")
    recommendation = get("marginrecommendation")
    registry_update = apps.get_model("chain", "RegistryUpdate").objects.get(pk=ids["registryupdate"])
    run = apps.get_model("insurance", "CoverageRun").objects.get(pk=ids["coveragerun"])
    audit = model("auditrecord")
    audit_subjects = {}
    for record in audit.objects.filter(pk__in=ids["auditrecords"]).order_by("pk"):
        try:
            subject = apps.get_model(record.subject_type).objects.get(pk=record.subject_id)
        except (LookupError, ObjectDoesNotExist) as error:
            audit_subjects[str(record.pk)] = [record.subject_type, f"unresolved: {error}", None]
        else:
            audit_subjects[str(record.pk)] = [record.subject_type, subject._meta.db_table, subject.pk]
    group = apps.get_model("auth", "Group").objects.get(pk=ids["group"])
    return {
        "vote -> proposal": [vote.proposal_id, vote.proposal.title],
        "parameter changes -> proposal, market": sorted(
            [c.proposal.title, c.market.symbol, c.field, str(c.new_value)]
            for c in model("parameterchange").objects.filter(proposal=proposal)
        ),
        "proposal -> coverage runs (insurance)": [proposal.coverage_current.label, proposal.coverage_proposed.label],
        "execution -> proposal, market, parameters": [
            execution.proposal.title,
            execution.market.symbol,
            execution.parameters.version,
        ],
        "market -> parameter versions": list(
            model("marginparameters").objects.filter(market=market).order_by("version").values_list("version", "source")
        ),
        "market -> positions -> account": sorted(
            [p.external_id, p.account.address, p.side, str(p.bankruptcy_price)]
            for p in model("position").objects.filter(market=market)
        ),
        "market -> price observations": model("priceobservation").objects.filter(market=market).count(),
        "market -> registry updates (chain)": list(market.registry_updates.values_list("version", flat=True)),
        "registry update (chain) -> market, checkpoint": [
            registry_update.market.symbol,
            registry_update.checkpoint.deployment.chain_id,
        ],
        "coverage run -> fund -> ledger": [
            run.fund.name,
            sorted(
                apps.get_model("insurance", "FundLedgerEntry")
                .objects.filter(fund=run.fund)
                .values_list("external_ref", flat=True)
            ),
        ],
        "coverage chunks -> run": sorted(
            [c.chunk_index, c.run.label] for c in apps.get_model("insurance", "CoverageChunk").objects.filter(run=run)
        ),
        "report delivery -> report -> schedule, snapshot -> market": [
            report_delivery.recipient,
            report_delivery.report.schedule.name,
            report_delivery.report.snapshot.market.symbol,
        ],
        "report schedule -> markets (many to many)": sorted(
            report_delivery.report.schedule.markets.values_list("symbol", flat=True)
        ),
        "report subscription -> schedule": get("reportsubscription").schedule.name,
        "alert delivery -> alert -> rule, market": [
            alert_delivery.target,
            alert_delivery.alert.rule.name,
            alert_delivery.alert.market.symbol,
        ],
        "recommendation -> policy, based on, applied": [
            recommendation.policy.version,
            recommendation.based_on.version,
            recommendation.applied_version.version,
            recommendation.market.symbol,
        ],
        "price feed -> market": get("pricefeed").market.symbol,
        "guardrail rule -> market": get("parameterrule").market.symbol,
        "staff address -> user": get("staffaddress").user.username,
        "audit subjects": audit_subjects,
        "group -> permissions": sorted(
            [p.codename, p.content_type_id, p.content_type.app_label, p.content_type.model]
            for p in group.permissions.all()
        ),
        "admin log -> content type": [
            [e.content_type_id, e.content_type.app_label, e.content_type.model, e.object_id]
            for e in apps.get_model("admin", "LogEntry").objects.filter(pk=ids["logentry"])
        ],
    }


# ------------------------------------------------------------------ seeding


class Seeder:
    """The pre-split protocol: what post_migrate made then, and a little of everything the apps store."""

    def __init__(self, apps: Any) -> None:
        self.apps = apps
        self.ids: dict[str, Any] = {}

    def model(self, name: str) -> Any:
        return self.apps.get_model("riskgov", name)

    def run(self) -> dict[str, Any]:
        for step in (
            self.post_migrate,
            self.auth,
            self.markets,
            self.insurance,
            self.governance,
            self.reports,
            self.monitoring,
            self.chain,
            self.audit,
        ):
            step()
        return self.ids

    def post_migrate(self) -> None:
        # content types and permissions of every model, as post_migrate created them before the split
        self.content_type = self.apps.get_model("contenttypes", "ContentType")
        permission = self.apps.get_model("auth", "Permission")
        for historical in self.apps.get_models():
            meta = historical._meta
            ct, _ = self.content_type.objects.get_or_create(app_label=meta.app_label, model=meta.model_name)
            builtin = [
                (f"{action}_{meta.model_name}", f"Can {action} {meta.verbose_name_raw}")
                for action in meta.default_permissions
            ]
            for codename, name in [*builtin, *meta.permissions]:
                permission.objects.get_or_create(content_type=ct, codename=codename, defaults={"name": name})

    def auth(self) -> None:
        self.user = self.apps.get_model("auth", "User").objects.create(username="steward", password="!", is_staff=True)
        group = self.apps.get_model("auth", "Group").objects.create(name="Risk stewards")
        group.permissions.set(
            self.apps.get_model("auth", "Permission").objects.filter(
                content_type__app_label="riskgov", codename__in=["change_marginparameters", "view_proposal"]
            )
        )
        self.user.groups.add(group)
        self.ids["group"] = group.pk
        self.ids["staffaddress"] = (
            self.model("StaffAddress").objects.create(user=self.user, address="0x" + "5a" * 20).pk
        )

    def markets(self) -> None:
        self.eth = self.model("Market").objects.create(
            symbol="ETH-USD",
            name="Ether",
            chain_market_id=1,
            depth=D("25000000"),
            reference_volatility=D("0.75"),
        )
        self.btc = self.model("Market").objects.create(
            symbol="BTC-USD", name="Bitcoin", chain_market_id=2, depth=D("60000000"), reference_volatility=D("0.6")
        )
        self.ids["market"] = self.eth.pk
        alice = self.model("Account").objects.create(address=ETH_ADDRESS, label="alice")
        bob = self.model("Account").objects.create(address=BTC_ADDRESS, label="bob")
        for external_id, account, market, size, entry, collateral in [
            ("eth-long", alice, self.eth, D("2.5"), D("3000"), D("1500")),
            ("eth-short", bob, self.eth, D("-4"), D("3100"), D("2480")),
            ("btc-long", bob, self.btc, D("0.25"), D("60000"), D("3000")),
        ]:
            self.model("Position").objects.create(
                external_id=external_id,
                account=account,
                market=market,
                size=size,
                entry_price=entry,
                collateral=collateral,
                opened_at=T0,
            )

        parameters = self.model("MarginParameters")
        self.versions = []
        for version, (imr, mmr, source) in enumerate(
            [
                (D("0.1"), D("0.05"), "genesis"),
                (D("0.08"), D("0.04"), "admin"),
                (D("0.06"), D("0.03"), "proposal"),
            ],
            start=1,
        ):
            self.versions.append(
                parameters.objects.create(
                    market=self.eth,
                    version=version,
                    imr=imr,
                    mmr=mmr,
                    max_leverage=D("10"),
                    liquidation_penalty=D("0.01"),
                    insurance_fee_share=D("0.25"),
                    oi_cap=D("50000000"),
                    effective_at=T0 + timedelta(days=version),
                    source=source,
                    reason=f"version {version}",
                    actor="steward",
                )
            )
        parameters.objects.create(
            market=self.btc,
            version=1,
            imr=D("0.05"),
            mmr=D("0.025"),
            max_leverage=D("20"),
            liquidation_penalty=D("0.01"),
            insurance_fee_share=D("0.2"),
            source="genesis",
            reason="genesis",
            actor="seed",
        )
        self.ids["parameterrule"] = (
            self.model("ParameterRule")
            .objects.create(market=self.eth, field="imr", min_value=D("0.02"), max_value=D("0.5"))
            .pk
        )
        for hour in range(6):
            self.model("PriceObservation").objects.create(
                market=self.eth, price=D("3000") + hour, observed_at=T0 + timedelta(hours=hour), source="oracle"
            )
        self.model("PriceObservation").objects.create(
            market=self.btc, price=D("60000"), observed_at=T0, source="oracle"
        )
        self.snapshot = self.model("ExposureSnapshot").objects.create(
            market=self.eth,
            scope="ETH-USD",
            taken_at=T0 + timedelta(hours=6),
            mark_price=D("3005"),
            position_count=2,
            account_count=2,
            oi_long=D("7512.5"),
            oi_short=D("12020"),
            collateral=D("3980"),
            leverage_p50=3.5,
            top_accounts=[{"address": ETH_ADDRESS, "share": 0.6}],
        )

    def insurance(self) -> None:
        fund_model = self.apps.get_model("insurance", "InsuranceFund")
        self.fund = fund_model.objects.create(name="Protocol fund", vault_address="0x" + "f0" * 20)
        ledger = self.apps.get_model("insurance", "FundLedgerEntry")
        for ref, kind, amount, effect in [
            ("deposit-1", "deposit", D("250000"), D("250000")),
            ("fees-march", "fee_income", D("1200.5"), D("1200.5")),
            ("payout-1", "bad_debt_payout", D("300"), D("-300")),
        ]:
            ledger.objects.create(
                fund=self.fund,
                kind=kind,
                amount=amount,
                effect=effect,
                external_ref=ref,
                note=f"{kind} {ref}",
                occurred_at=T0,
                recorded_by="treasury",
            )
        run_model = self.apps.get_model("insurance", "CoverageRun")
        self.runs = [
            run_model.objects.create(
                fund=self.fund,
                label=label,
                requested_by="steward",
                fund_balance=D("250900.5"),
                paths=400,
                steps=24,
                horizon_days=D("1"),
                impact_coefficient=D("0.5"),
                seed=seed_value,
                chunk_size=200,
                engine_version="1",
                status="succeeded",
                chunk_count=2,
                chunks_done=2,
                metrics={"summary": {"paths": 400, "exhaustion_probability": 0.01}},
            )
            for label, seed_value in (("current", 7), ("proposed", 8))
        ]
        for run in self.runs:
            for index in range(2):
                self.apps.get_model("insurance", "CoverageChunk").objects.create(
                    run=run,
                    chunk_index=index,
                    path_start=200 * index,
                    path_stop=200 * (index + 1),
                    status="done",
                    attempts=1,
                    worker="worker@host",
                )
        self.ids["coveragerun"] = self.runs[0].pk
        self.ids["insurancefund"] = self.fund.pk

    def governance(self) -> None:
        self.proposal = self.model("Proposal").objects.create(
            title="Lower ETH margins",
            description="Lower the ETH-USD margin rates.",
            description_html="<p>Lower the ETH-USD margin rates.</p>",
            proposer=ETH_ADDRESS,
            chain_id=31337,
            verifying_contract="0x" + "11" * 20,
            snapshot_block=120,
            total_supply=D("10000000000000000000000000"),
            proposer_power=D("2000000000000000000000"),
            proposal_threshold=D("1000000000000000000000"),
            quorum_fraction=D("0.04"),
            voting_delay_seconds=60,
            voting_period_seconds=259200,
            timelock_seconds=172800,
            grace_period_seconds=1209600,
            voting_starts_at=T0,
            voting_ends_at=T0 + timedelta(days=3),
            for_votes=D("3000000000000000000000"),
            against_votes=D("1000000000000000000000"),
            vote_count=2,
            state="executed",
            coverage_current=self.runs[0],
            coverage_proposed=self.runs[1],
            impact={"ETH-USD": {"imr": ["0.08", "0.06"]}},
        )
        self.ids["proposal"] = self.proposal.pk
        for field, old, new in (("imr", D("0.08"), D("0.06")), ("mmr", D("0.04"), D("0.03"))):
            self.model("ParameterChange").objects.create(
                proposal=self.proposal, market=self.eth, field=field, old_value=old, new_value=new
            )
        votes = [
            self.model("Vote").objects.create(
                proposal=self.proposal,
                voter=voter,
                support=support,
                weight=weight,
                nonce=nonce,
                signature="0x" + "99" * 65,
            )
            for voter, support, weight, nonce in (
                (ETH_ADDRESS, 1, D("3000000000000000000000"), 1),
                (BTC_ADDRESS, 0, D("1000000000000000000000"), 1),
            )
        ]
        self.ids["vote"] = votes[0].pk
        self.ids["proposalexecution"] = (
            self.model("ProposalExecution")
            .objects.create(
                proposal=self.proposal,
                market=self.eth,
                parameters=self.versions[2],
                registry_values={"imr": "60000000000000000"},
                tx_hash="0x" + "77" * 32,
                block_number=130,
                registry_version=3,
                pushed_at=T0 + timedelta(days=6),
            )
            .pk
        )

    def reports(self) -> None:
        crontab = self.apps.get_model("django_celery_beat", "CrontabSchedule").objects.create(
            minute="0", hour="6", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
        )
        schedule = self.model("ReportSchedule").objects.create(
            name="Desk daily", crontab=crontab, recipients="desk@example.org"
        )
        schedule.markets.set([self.eth, self.btc])
        report = self.model("ExposureReport").objects.create(
            schedule=schedule,
            snapshot=self.snapshot,
            kind="protocol",
            period_start=T0,
            period_end=T0 + timedelta(days=1),
            period_label="1 March 2024",
            has_data=True,
            content={"markets": ["ETH-USD"]},
            html="<h1>Exposure</h1>",
            requested_by="schedule",
        )
        self.ids["reportdelivery"] = (
            self.model("ReportDelivery").objects.create(report=report, recipient="desk@example.org", status="sent").pk
        )
        self.ids["reportsubscription"] = (
            self.model("ReportSubscription")
            .objects.create(schedule=schedule, email="cfo@example.org", token="t" * 32, created_by="steward")
            .pk
        )

    def monitoring(self) -> None:
        rule = self.model("AlertRule").objects.create(
            name="ETH coverage",
            kind="coverage_ratio_below",
            threshold=D("1.5"),
            market=self.eth,
            recipients=["risk@x.org"],
        )
        alert = self.model("Alert").objects.create(
            rule=rule,
            market=self.eth,
            opened_at=T0,
            last_seen_at=T0 + timedelta(minutes=5),
            summary="Coverage ratio 1.2 below 1.5",
            evidence={"ratio": "1.2"},
        )
        self.ids["alertdelivery"] = (
            self.model("AlertDelivery")
            .objects.create(alert=alert, event="opened", channel="email", target="risk@x.org", status="sent")
            .pk
        )
        self.ids["pricefeed"] = (
            self.model("PriceFeed").objects.create(market=self.eth, name="ETH / USD", source="chainlink").pk
        )
        policy = self.model("MarginPolicy").objects.create(
            market=self.eth,
            version=1,
            source="admin",
            reason="volatility scaled",
            actor="steward",
            kind="volatility_scaled",
        )
        self.ids["marginrecommendation"] = (
            self.model("MarginRecommendation")
            .objects.create(
                market=self.eth,
                policy=policy,
                based_on=self.versions[1],
                applied_version=self.versions[2],
                computed_at=T0 + timedelta(days=4),
                fingerprint="f" * 64,
                values={"imr": "0.06", "mmr": "0.03"},
                status="applied",
            )
            .pk
        )
        self.model("GovernanceSettings").objects.filter(pk=1).update(guardian_address="0x" + "6a" * 20)
        self.model("SiweNonce").objects.create(value="n" * 24, expires_at=T0 + timedelta(minutes=10))

    def chain(self) -> None:
        deployment = self.apps.get_model("chain", "ChainDeployment").objects.create(
            chain_id=31337,
            genesis_hash="0x" + "00" * 32,
            gov_token="0x" + "01" * 20,
            registry="0x" + "02" * 20,
            perp_market="0x" + "03" * 20,
            deployment_block=1,
            is_active=True,
        )
        checkpoint = self.apps.get_model("chain", "IndexerCheckpoint").objects.create(
            deployment=deployment, role="registry", address="0x" + "02" * 20, block_number=130
        )
        self.ids["registryupdate"] = (
            self.apps.get_model("chain", "RegistryUpdate")
            .objects.create(
                checkpoint=checkpoint,
                market=self.eth,
                block_number=130,
                block_hash="0x" + "aa" * 32,
                tx_hash="0x" + "77" * 32,
                log_index=0,
                market_symbol="ETH-USD",
                version=3,
                imr=D("0.06"),
                mmr=D("0.03"),
                max_leverage=D("10"),
                liquidation_penalty=D("0.01"),
                insurance_fee_share=D("0.25"),
                oi_cap=D("50000000"),
            )
            .pk
        )

    def audit(self) -> None:
        audit = self.model("AuditRecord")
        records = [
            audit.objects.create(
                action="self.proposal.created",
                subject_type="riskgov.proposal",
                subject_id=str(self.proposal.pk),
                actor=ETH_ADDRESS,
            ),
            audit.objects.create(
                action="self.proposal.executed",
                subject_type="riskgov.proposal",
                subject_id=str(self.proposal.pk),
                actor="keeper",
            ),
            audit.objects.create(
                action="parameters.changed",
                subject_type="riskgov.marginparameters",
                subject_id=str(self.versions[1].pk),
                actor="steward",
                data={"imr": {"old": "0.1", "new": "0.08"}},
            ),
            audit.objects.create(
                action="parameters.changed",
                subject_type="riskgov.marginparameters",
                subject_id=str(self.versions[2].pk),
                actor="proposal",
                data={"imr": {"old": "0.08", "new": "0.06"}},
            ),
            audit.objects.create(
                action="insurance.fund_created",
                subject_type="insurance.insurancefund",
                subject_id=str(self.fund.pk),
                actor="treasury",
            ),
        ]
        self.ids["auditrecords"] = [r.pk for r in records]
        self.ids["audit_by_subject"] = {
            "proposal": [records[0].pk, records[1].pk],
            "marginparameters": [records[2].pk, records[3].pk],
            "insurancefund": [records[4].pk],
        }
        self.ids["marginparameters"] = [v.pk for v in self.versions]
        self.ids["user"] = self.user.pk
        self.ids["logentry"] = (
            self.apps.get_model("admin", "LogEntry")
            .objects.create(
                user=self.user,
                content_type=self.content_type.objects.get(app_label="riskgov", model="marginparameters"),
                object_id=str(self.versions[1].pk),
                object_repr="ETH-USD v2",
                action_flag=2,
                change_message="[]",
                action_time=T0 + timedelta(days=2),
            )
            .pk
        )


# ------------------------------------------------------------------ phases


def _moves(before: Any, after: Any) -> dict[str, str]:
    """{model name: app label} for every model the pre-split riskgov app had, found by its table."""
    by_table = {model._meta.db_table: model._meta.app_label for model in after.get_models()}
    return {
        model._meta.model_name: by_table.get(model._meta.db_table, "")
        for model in before.get_app_config("riskgov").get_models()
    }


def phase_seed() -> dict[str, Any]:
    from django.db import connection, transaction
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    targets = pre_split_targets(executor.loader)
    apps = executor.migrate(targets).apps
    with transaction.atomic():
        ids = Seeder(apps).run()
    return {
        "ids": ids,
        "targets": [list(t) for t in targets],
        "tables": table_rows(apps),
        "content_types": content_types(apps),
        "relations": follow_relations(apps, lambda name: "riskgov", ids),
        "applied": applied_migrations(),
    }


def phase_upgrade(ids: dict[str, Any]) -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    call_command("migrate", interactive=False, verbosity=0)
    loader = MigrationLoader(connection)
    apps = loader.project_state().apps
    moves = _moves(loader.project_state(pre_split_targets(loader)).apps, apps)
    return {
        "moves": moves,
        "tables": table_rows(apps),
        "content_types": content_types(apps),
        "relations": follow_relations(apps, moves.__getitem__, ids),
        "applied": applied_migrations(),
        "unapplied": sorted(list(node) for node in loader.graph.nodes if node not in loader.applied_migrations),
        "application": application_checks(ids),
    }


def application_checks(ids: dict[str, Any]) -> dict[str, Any]:
    """What the application's own models and code make of the upgraded rows."""
    from django.apps import apps as global_apps
    from django.contrib.admin.models import LogEntry
    from django.contrib.auth.models import User
    from django.contrib.contenttypes.models import ContentType
    from django_celery_beat.models import PeriodicTask

    from config.celery_app import app as celery_app
    from riskgov.core.models import AuditRecord
    from riskgov.governance.models import Proposal
    from riskgov.governance.selectors.proposals import PROPOSAL_SUBJECT
    from riskgov.markets.models import MarginParameters

    subjects = {}
    for record in AuditRecord.objects.filter(pk__in=ids["auditrecords"]).order_by("pk"):
        subjects[str(record.pk)] = _described(
            lambda record=record: global_apps.get_model(record.subject_type).objects.get(pk=record.subject_id)
        )
    user = User.objects.get(pk=ids["user"])
    for config in global_apps.get_app_configs():  # what the worker's autodiscovery imports
        try:
            importlib.import_module(f"{config.name}.tasks")
        except ModuleNotFoundError as error:
            if error.name != f"{config.name}.tasks":
                raise
    log = LogEntry.objects.get(pk=ids["logentry"])
    return {
        "audit subjects": subjects,
        "proposal audit records": sorted(
            AuditRecord.objects.filter(subject_type=PROPOSAL_SUBJECT, subject_id=str(ids["proposal"])).values_list(
                "pk", flat=True
            )
        ),
        "content type ids": {
            "proposal": ContentType.objects.get_for_model(Proposal).pk,
            "marginparameters": ContentType.objects.get_for_model(MarginParameters).pk,
        },
        "group permissions": {
            perm: user.has_perm(perm)
            for perm in (
                "markets.change_marginparameters",
                "governance.view_proposal",
                "riskgov.change_marginparameters",
                "markets.delete_marginparameters",
            )
        },
        "admin log object": _described(log.get_edited_object),
        "unregistered periodic tasks": sorted(
            set(PeriodicTask.objects.values_list("task", flat=True)) - set(celery_app.tasks)
        ),
    }


def _described(find: Callable[[], Any]) -> list[Any]:
    """[model label, pk] of the instance `find` returns, or why it found none."""
    try:
        instance = find()
    except (LookupError, ObjectDoesNotExist, AttributeError) as error:  # no such model (None), no such row
        return [f"not found: {type(error).__name__}: {error}", None]
    return [instance._meta.label, instance.pk]


def phase_downgrade(ids: dict[str, Any]) -> dict[str, Any]:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    targets = pre_split_targets(executor.loader)
    apps = executor.migrate([*targets, *((app, None) for app in NEW_APPS)]).apps
    return {
        "tables": table_rows(apps),
        "content_types": content_types(apps),
        "relations": follow_relations(apps, lambda name: "riskgov", ids),
        "applied": applied_migrations(),
    }


def main(out: str) -> None:
    """Run the phases in turn, writing OUT after each so a later phase's failure leaves the earlier results."""
    import django

    django.setup()
    results: dict[str, Any] = {}
    for name, phase in (
        ("seed", phase_seed),
        ("upgrade", lambda: phase_upgrade(results["seed"]["ids"])),
        ("downgrade", lambda: phase_downgrade(results["seed"]["ids"])),
    ):
        results[name] = phase()
        with open(out, "w") as handle:
            json.dump(results, handle, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1])

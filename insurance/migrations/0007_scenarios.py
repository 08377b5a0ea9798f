from decimal import Decimal

import django.core.validators
from django.db import migrations, models

# The library as first shipped. Changes are fractions of today's price, hours from the start of the shock; a
# market's move is its beta times the waypoint change. Figures are rounded from the sources given with each.
LIBRARY = [
    {
        "slug": "march_2020",
        "name": "12 March 2020 (Black Thursday)",
        "description": "COVID sell-off: about −45 % within a day in two legs, most of it in a few hours, no rebound.",
        "source": (
            "BitMEX BTC perpetual $7,353 at 10:00 UTC on 12 Mar 2020, $3,978 by 02:00 UTC the next day (low $3,596), "
            "two distinct legs — LedgerPrime, https://www.research.ledgerprime.com/p/cryptos-black-thursday-the-market\n"
            "BTC $7,300 → $3,900: first leg 10–11 UTC to $5,690, second 23:00–02:15 UTC — BTCMEX, "
            "https://blog.btcmex.com/black-thursday-what-actually-happened-to-bitcoin/\n"
            "The waypoints are a rounded approximation (−45 % in 20 hours), not any venue's prices."
        ),
        "waypoints": [[0.0, 0.0], [8.0, -0.12], [12.0, -0.30], [20.0, -0.45], [24.0, -0.45]],
        "betas": {},
        "default_beta": "1",
    },
    {
        "slug": "may_2022",
        "name": "May 2022 (Terra/UST de-peg)",
        "description": "A stablecoin de-peg drags the market down in waves: about −35 % over a week.",
        "source": (
            "Rounded approximation of the Terra/UST de-peg week (7–13 May 2022): the market fell in waves over about "
            "a week; not a reconstruction of any venue's prices."
        ),
        "waypoints": [[0.0, 0.0], [24.0, -0.08], [48.0, -0.12], [72.0, -0.22], [120.0, -0.30], [168.0, -0.35]],
        "betas": {},
        "default_beta": "1",
    },
    {
        "slug": "november_2022",
        "name": "November 2022 (FTX collapse)",
        "description": "Exchange-collapse selloff: about −25 % within eight hours, little rebound.",
        "source": (
            "BTC fell 11 % on 8 Nov 2022 and another 13 % on 9 Nov, to $15.6k on the night of 10 Nov — "
            "https://socialbites.ca/business/116157.html\n"
            "BTC −7 % to $16,351 after the FTX bankruptcy filing on 11 Nov 2022 — CoinDesk, "
            "https://www.coindesk.com/markets/2022/11/11/bitcoin-sees-new-dip-after-ftx-bankruptcy-filing/\n"
            "The waypoints compress the two worst days into eight hours, a harsher and rounded version."
        ),
        "waypoints": [[0.0, 0.0], [4.0, -0.10], [8.0, -0.25], [24.0, -0.22]],
        "betas": {},
        "default_beta": "1",
    },
    {
        "slug": "flash_crash",
        "name": "Flash crash (synthetic)",
        "description": "−30 % within an hour, back to −5 % four hours later: probes the liquidation delay.",
        "source": "Synthetic: no single episode. With hourly oracle steps the one-hour low is seen at one step only.",
        "waypoints": [[0.0, 0.0], [1.0, -0.30], [4.0, -0.05]],
        "betas": {},
        "default_beta": "1",
    },
    {
        "slug": "august_2024",
        "name": "5 August 2024 (yen carry-trade unwind)",
        "description": (
            "After the Bank of Japan's hike the yen carry trade unwound: BTC about −15 % in under five hours, ETH "
            "about −20 %, alts −16…−22 %, then a partial rebound the same day."
        ),
        "source": (
            "BTC $58,350 → $49,513 in under 5 hours (−15 %), back to $54,094; ETH $2,695 → $2,118 (−21 %); BNB −17 %, "
            "DOGE −16 %, DOT −22 % — CoinChapter, "
            "https://cointrolly.com/bitcoin-falls-under-53k-wiping-out-600m-in-leveraged-longs\n"
            "$1.08B liquidated in 24 h ($920M of it longs); total crypto market cap −15.8 % on 5 Aug — "
            "https://binance.com/en-BH/square/post/11762743311937\n"
            "Trigger: BoJ rate to 0.25 % on 31 Jul 2024, USD/JPY 153 → 145, Nikkei 225 −12 % on 5 Aug — "
            "https://cryptopragmatist.com/p/bitcoin-crash-25-unraveling-august-5th-market-meltdown\n"
            "Waypoints follow BTC; ETH beta 1.35 (−20 % at the low), other markets 1.2."
        ),
        "waypoints": [[0.0, 0.0], [2.0, -0.06], [5.0, -0.15], [12.0, -0.10], [24.0, -0.07]],
        "betas": {"BTC": 1.0, "ETH": 1.35},
        "default_beta": "1.2",
    },
    {
        "slug": "october_2025",
        "name": "10 October 2025 (tariff crash)",
        "description": (
            "A 100 % tariff announcement on a Friday evening: BTC −12 %, ETH −16 %, SOL −31 % within 45 minutes, "
            "about $19B liquidated across venues, Hyperliquid's first auto-deleveraging in more than two years."
        ),
        "source": (
            "About $19.1B of leveraged positions liquidated in under 24 h, ~1.6M traders; Hyperliquid $10.28B; "
            "Binance's futures insurance fund drew $188M — "
            "https://www.ainvest.com/news/bitcoin-news-today-leverage-tariffs-fuelled-crypto-19b-meltdown-2510\n"
            "Within 45 minutes BTC −12 %, ETH −16 %, SOL −31 %, most alts −70…−90 % (CoinGlass) — "
            "https://spectropunk.com/?p=179\n"
            "Tariff post at about 20:50 UTC; liquidations peaked at 21:15 UTC ($3.21B in 60 s); order-book depth fell "
            "about 98 %; Hyperliquid ran its first ADL in more than two years — https://followin.io/feed/22111099\n"
            "Waypoints follow BTC; ETH beta 1.33, SOL 2.6, other markets 2 (alts' −70…−90 % wicks go beyond any "
            "beta); the partial recovery over the day is rounded."
        ),
        "waypoints": [[0.0, 0.0], [0.25, -0.03], [0.75, -0.12], [3.0, -0.09], [24.0, -0.08]],
        "betas": {"BTC": 1.0, "ETH": 1.33, "SOL": 2.6},
        "default_beta": "2",
    },
]


def library_create(apps, schema_editor):
    Scenario = apps.get_model("insurance", "Scenario")
    for entry in LIBRARY:
        Scenario.objects.update_or_create(
            slug=entry["slug"],
            defaults={
                **entry,
                "kind": "shock",
                "default_beta": Decimal(entry["default_beta"]),
                "created_by": "library",
            },
        )


def library_remove(apps, schema_editor):
    apps.get_model("insurance", "Scenario").objects.filter(slug__in=[e["slug"] for e in LIBRARY]).delete()


class Migration(migrations.Migration):
    dependencies = [("insurance", "0006_adl")]
    operations = [
        migrations.CreateModel(
            name="Scenario",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("slug", models.SlugField(help_text="What runs name the scenario by.", max_length=64, unique=True)),
                ("name", models.CharField(max_length=200)),
                (
                    "kind",
                    models.CharField(
                        choices=[("shock", "Named shock"), ("replay", "Replay of stored prices")], max_length=8
                    ),
                ),
                ("description", models.TextField(blank=True, default="")),
                (
                    "source",
                    models.TextField(
                        blank=True,
                        default="",
                        help_text="Where the figures come from: citations or links, one a line.",
                    ),
                ),
                (
                    "waypoints",
                    models.JSONField(
                        blank=True, default=list, help_text="Shock: [[hours, change], …], changes as fractions."
                    ),
                ),
                (
                    "betas",
                    models.JSONField(blank=True, default=dict, help_text='Shock: {"BTC": 1.0, "ETH": 1.3} per market.'),
                ),
                (
                    "default_beta",
                    models.DecimalField(
                        decimal_places=4,
                        default=Decimal("1"),
                        help_text="Shock: beta of markets not in betas.",
                        max_digits=8,
                    ),
                ),
                ("replay_start", models.DateTimeField(blank=True, null=True)),
                ("replay_end", models.DateTimeField(blank=True, null=True)),
                (
                    "scale",
                    models.DecimalField(
                        decimal_places=4,
                        default=Decimal("1"),
                        help_text="Replay: every log return is multiplied by this (1 = as it was).",
                        max_digits=8,
                        validators=[
                            django.core.validators.MinValueValidator(Decimal("0.0001")),
                            django.core.validators.MaxValueValidator(Decimal("10")),
                        ],
                    ),
                ),
                ("created_by", models.CharField(blank=True, default="", max_length=150)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "ordering": ["kind", "name", "pk"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("kind", "shock"),
                            models.Q(("replay_end__isnull", False), ("replay_start__isnull", False)),
                            _connector="OR",
                        ),
                        name="scenario_replay_has_window",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("replay_start__isnull", True),
                            ("replay_end__gt", models.F("replay_start")),
                            _connector="OR",
                        ),
                        name="scenario_replay_window_order",
                    ),
                    models.CheckConstraint(condition=models.Q(("scale__gt", 0)), name="scenario_scale_positive"),
                ],
            },
        ),
        migrations.RunPython(library_create, library_remove),
    ]

"""Markets with parameters, policies and hourly prices for the dynamic-margin tests; a webhook receiver."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal as D
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import cast

import numpy as np
import pytest
import time_machine
from django.utils import timezone

from riskgov.core.models.versions import ChangeSource
from riskgov.markets.models import Market, PriceObservation
from riskgov.markets.services.parameters import margin_parameters_change
from riskgov.monitoring.services.margin_policy import margin_policy_change
from tests.factories import MarketFactory
from tests.markets.conftest import GENESIS


def add_hourly_prices(
    market: Market, sigma_hourly: float, hours: int = 400, start: float = 2000.0, source: str = "chainlink"
) -> None:
    """Hourly prices ending a minute ago whose log returns alternate ±σ (so the EWMA σ is exactly σ)."""
    now = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=1)
    signs = np.where(np.arange(hours) % 2 == 0, 1.0, -1.0)
    prices = start * np.exp(np.concatenate(([0.0], np.cumsum(signs * sigma_hourly))))
    PriceObservation.objects.bulk_create(
        [
            PriceObservation(
                market=market, price=D(f"{price:.8f}"), source=source, observed_at=now - timedelta(hours=hours - i)
            )
            for i, price in enumerate(prices)
        ]
    )


def make_market(symbol: str, **policy: object) -> Market:
    market = cast(Market, MarketFactory(symbol=symbol))
    with time_machine.travel(timezone.now() - timedelta(days=30)):
        margin_parameters_change(
            market=market, changes=GENESIS, source=ChangeSource.GENESIS, reason="launch", actor="deployer"
        )
        margin_policy_change(
            market=market, changes=policy, source=ChangeSource.GENESIS, reason="launch", actor="deployer"
        )
    return market


@pytest.fixture
def auto_market() -> Market:
    return make_market(
        "AUTO",
        automatic=True,
        kind="volatility_scaled",
        coefficient_a=D("1"),
        coefficient_b=D("0"),
        ewma_lambda=D("0.97"),
        confidence=D("0.99"),
        horizon_hours=8,
        mmr_ratio=D("0.5"),
    )


class Receiver:
    """A webhook receiver on 127.0.0.1 answering with the queued status codes (then 200).

    `on_request`, when given, runs in the server's thread while the sender waits for the answer.
    """

    def __init__(self, codes: list[int], on_request: Callable[[], None] | None = None):
        self.codes = list(codes)
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                if on_request is not None:
                    on_request()
                self.send_response(receiver.codes.pop(0) if receiver.codes else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    receivers: list[Receiver] = []

    def start(codes: list[int], on_request: Callable[[], None] | None = None) -> Receiver:
        found = Receiver(codes, on_request)
        found.thread.start()
        receivers.append(found)
        return found

    yield start
    for found in receivers:
        found.server.shutdown()
        found.server.server_close()

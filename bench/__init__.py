"""Benchmarks of what users get (see the Makefile's `bench` target); results in bench/results/."""

from __future__ import annotations

import os


def load_average() -> list[float]:
    """The machine's 1, 5 and 15 minute load averages, rounded to two decimals: recorded next to every figure."""
    return [round(x, 2) for x in os.getloadavg()]

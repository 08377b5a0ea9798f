"""Benchmark of the liquidation-shortfall engine (``python -m bench.engine``)."""

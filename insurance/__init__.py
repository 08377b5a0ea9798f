"""insurance — the insurance fund and its coverage against liquidation shortfalls.

Owns: the fund ledger, coverage runs (frozen inputs, chunks on Celery workers, merged results and metrics),
their pages and API. `insurance.engine` is the pure simulation core: NumPy/numba, no Django, no I/O.
May import: riskgov.core, riskgov.markets (never chain, governance, monitoring or reports).
"""

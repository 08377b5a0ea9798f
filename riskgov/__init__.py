"""RiskGov, the product package: one Django app per job.

core < markets < {chain, insurance} < governance < {monitoring, reports} < demo — each app imports only
from the apps before it (held by import-linter in `make lint`).
"""

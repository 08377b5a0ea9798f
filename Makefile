# RiskGov: `make run` starts the demo, `make test` runs the suite. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
SEED ?= 7
# `make run GOVERNANCE_MODE=onchain`: a RiskGovernor and its timelock own the registry (README, "Governance modes")
GOVERNANCE_MODE ?= offchain
# The local chain's port (CHAIN_RPC_URL follows it) and state file.
CHAIN_PORT ?= 8545
CHAIN_STATE ?= var/anvil-state.json
ifeq ($(GOVERNANCE_MODE),onchain)
# The Governor's clock is the block number: the demo chain mines a block every 2 s besides each transaction, the
# governance settings' seconds become blocks of 2 s, and a late quorum extends voting by a minute (not a day).
CHAIN_MINE_EVERY ?= 2
CHAIN_SECONDS_PER_BLOCK ?= 2
RISKGOV_GOVERNANCE_VOTE_EXTENSION_SECONDS ?= 60
export CHAIN_MINE_EVERY CHAIN_SECONDS_PER_BLOCK RISKGOV_GOVERNANCE_VOTE_EXTENSION_SECONDS
endif
export DJANGO_SETTINGS_MODULE ?= config.settings.local

.PHONY: run test lint bench contracts venv node chromium pdf-libs migrate seed clean-demo prod-check

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

node: node_modules/.installed

# apt-get waits for the dpkg lock (up to 10 minutes) and the whole step is retried while another apt
# holds the package lists, so `make test` next to a running apt waits instead of failing.
APT := apt-get -o DPkg::Lock::Timeout=600
define apt_install
for attempt in 1 2 3 4 5 6 7 8 9 10 11 12; do \
  $(APT) update -qq && $(APT) install -y -qq $(1) >/dev/null && exit 0; \
  echo "apt-get could not run (attempt $$attempt of 12; another apt may hold its lock); retrying in 10 s"; \
  sleep 10; \
done; exit 1
endef

chromium:
	@command -v chromium >/dev/null || ( $(call apt_install,chromium) )

# WeasyPrint (report PDFs) loads Pango through its C library.
pdf-libs:
	@ldconfig -p | grep -q libpangoft2-1.0 || ( $(call apt_install,libpango-1.0-0 libpangoft2-1.0-0) )

migrate: venv
	$(PY) manage.py migrate --noinput

# Migrations and the demo in one Django start-up; on a set-up checkout both have nothing to do.
seed: venv
	RISKGOV_GOVERNANCE_MODE=$(GOVERNANCE_MODE) $(PY) manage.py demo_prepare --seed $(SEED)

run: venv node pdf-libs seed
	@echo ""
	@echo "RiskGov demo: starting web, Celery worker, Celery beat, local chain, chain deploy + demo price keeper."
	@echo "  The URL is printed (\"RiskGov is up at ...\") once the web server answers, with the worker, beat and chain status."
	@echo "  logins (demo only; the admin takes them all):"
	@echo "    admin / admin          superuser: everything"
	@echo "    steward / steward      risk steward: parameter changes inside the steward bounds, recommendations,"
	@echo "                           margin policies, imports, snapshots, coverage runs, alerts and alert rules"
	@echo "    guardian / guardian    guardian: veto and cancel proposals, queue and execute them (off-chain)"
	@echo "    reporter / reporter    report manager: generate reports, schedules and subscriptions"
	@echo "    viewer / viewer        viewer: the staff pages and the admin, read-only"
	@echo "  Ctrl-C stops them all."
	@echo ""
	@echo "  Governance mode: $(GOVERNANCE_MODE) (make run GOVERNANCE_MODE=onchain|offchain; see README)."
	HOST=$(HOST) PORT=$(PORT) WEB_PORT=$(PORT) RISKGOV_GOVERNANCE_MODE=$(GOVERNANCE_MODE) CHAIN_PORT=$(CHAIN_PORT) \
	  CHAIN_STATE=$(CHAIN_STATE) CHAIN_RPC_URL=$${CHAIN_RPC_URL:-http://127.0.0.1:$(CHAIN_PORT)} \
	  $(VENV)/bin/honcho start -f Procfile

# The exposure, positions and import tests, and the 256-bit amounts (token wei, vote tallies, proposal ids), run a
# second time on SQLite (the `make run` default): every figure must be exact there too. pytest-django creates the
# SQLite test database itself.
test: venv node chromium pdf-libs
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) -m pytest
	mkdir -p var
	DJANGO_SETTINGS_MODULE=config.settings.test DATABASE_URL=sqlite:///$(CURDIR)/var/test-exposure.sqlite3 \
	  $(PY) -m pytest tests/markets tests/governance/test_uint256_exact.py -m "not integration and not e2e"

# The production deploy alone (also part of `make test`): check --deploy, collectstatic with the production
# storage, gunicorn with config.settings.production, /healthz, and every main page in Chromium under the CSP.
prod-check: venv node chromium
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) -m pytest tests/core/test_production.py

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DJANGO_SETTINGS_MODULE=config.settings.test $(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports --no-cache

# Every benchmark records the machine load next to its figures; the databases they made (bench_…) are dropped at
# the end, also when one of them fails.
bench: venv node
	status=0; ( mkdir -p bench/results && \
	  $(PY) -m bench.exposure && \
	  $(PY) -m bench.engine && \
	  $(PY) -m bench.governance && \
	  $(PY) -m bench.governance.relay && \
	  $(PY) -m bench.governance.browser_votes && \
	  $(PY) -m bench.coverage && \
	  $(PY) -m bench.run_storage && \
	  $(PY) -m bench.dynamic_margin && \
	  $(PY) -m bench.indexer && \
	  $(PY) -m bench.drills && \
	  $(PY) -m bench.reports && \
	  $(PY) -m bench.pages && \
	  $(PY) -m bench.startup ) || status=$$?; \
	  $(PY) -m bench.database; exit $$status

contracts: node
	node chain/contracts/compile.js

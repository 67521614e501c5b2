# Two commands on a fresh machine: `make run` (portal with demo data) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
DEVIDP_PORT ?= 8081
# The test EHR (testehr/, SMART on FHIR EHR launch): its patient list at http://127.0.0.1:$(TESTEHR_PORT)/
TESTEHR_PORT ?= 8082
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/maaledata
# The suite runs as this runtime role; the TEST_DATABASE_URL user (the owner) creates, migrates and
# grants (`grant_app_role`, run by tests/conftest.py; the role is created if missing). docs/deploy.md
TEST_APP_ROLE ?= maaledata_app
# The hot-standby tests (tests/replica) make a primary and a standby cluster of their own on free
# loopback ports and drop them (root and Debian's pg_createcluster; about a minute). docs/scaling.md
REPLICA_TESTS ?= 1
# Test workers (pytest-xdist): one per core. TEST_WORKERS=0 runs in one process (e.g. to debug).
TEST_WORKERS ?= 2
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test check audit soak bench bench-small bench-compare bench-replica install install-browser messages clean

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)."; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

locale/nb/LC_MESSAGES/django.mo: locale/nb/LC_MESSAGES/django.po $(VENV)/.installed
	@command -v msgfmt >/dev/null || (apt-get update -q && apt-get install -y -q gettext)
	$(PY) manage.py compilemessages --ignore=.venv --ignore=node_modules -v 0

install: $(VENV)/.installed node_modules/.installed locale/nb/LC_MESSAGES/django.mo

# Chromium from Debian's packages for the browser tests (Playwright drives it; it downloads nothing).
install-browser:
	@command -v chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium)

run: install
	mkdir -p var
	$(PY) manage.py migrate --no-input -v 0
	$(PY) manage.py devidp_setup --portal-url http://127.0.0.1:$(PORT) --portal-url http://localhost:$(PORT)
	$(PY) manage.py seed_demo
	@DEVIDP_PORT=$(DEVIDP_PORT) DEVIDP_CLIENTS_FILE=var/devidp/clients.json node devidp/server.mjs > var/devidp.log 2>&1 & \
	  idp=$$!; \
	  TESTEHR_PORT=$(TESTEHR_PORT) TESTEHR_APP_LAUNCH_URL=http://127.0.0.1:$(PORT)/launch/ node testehr/server.mjs > var/testehr.log 2>&1 & \
	  ehr=$$!; trap "kill $$idp $$ehr 2>/dev/null" EXIT INT TERM; \
	  for i in $$(seq 50); do grep -q DEVIDP_READY var/devidp.log && grep -q TESTEHR_READY var/testehr.log && break; sleep 0.2; done; \
	  grep -q DEVIDP_READY var/devidp.log || { cat var/devidp.log; exit 1; }; \
	  grep -q TESTEHR_READY var/testehr.log || { cat var/testehr.log; exit 1; }; \
	  $(PY) manage.py demo_banner --url http://127.0.0.1:$(PORT); \
	  echo "Test EHR (SMART on FHIR EHR launch): http://127.0.0.1:$(TESTEHR_PORT)/ (docs/ehr-launch.md)"; \
	  OIDC_ISSUER=http://127.0.0.1:$(DEVIDP_PORT) \
	  SMART_EHRS='[{"iss": "http://127.0.0.1:$(TESTEHR_PORT)/fhir", "name": "Testjournal (Lovisenberg)", "client_id": "maaledata-portal", "client_secret": "testehr-dev-secret"}]' \
	  EHR_FRAME_ORIGINS=http://127.0.0.1:$(TESTEHR_PORT) \
	  $(PY) manage.py runserver 127.0.0.1:$(PORT)

test: install install-browser
	DATABASE_URL=$(TEST_DATABASE_URL) TEST_APP_ROLE=$(TEST_APP_ROLE) REPLICA_TESTS=$(REPLICA_TESTS) $(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

check: install
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) manage.py makemigrations --check --dry-run
	$(MAKE) --no-print-directory audit

# Supply chain: known vulnerabilities in the installed PyPI packages and the npm packages the
# portal serves or runs (devidp). A finding fails; an unreachable vulnerability service is said
# plainly (it is not a clean result) and fails only with AUDIT_STRICT=1. See docs/security.md.
audit: install
	@echo "== PyPI packages: pip-audit (installed environment) =="
	@out=$$($(VENV)/bin/pip-audit --skip-editable --progress-spinner off 2>&1); rc=$$?; \
	  skipped=$$(echo "$$out" | grep -c "could not be audited"); \
	  if echo "$$out" | grep -q "^Found .* known vulnerabilit"; then echo "$$out" | grep -v "could not be audited"; \
	    echo "pip-audit: VULNERABILITIES FOUND (above). What to do: docs/security.md, 'Supply chain'."; exit 1; fi; \
	  if [ $$rc -ne 0 ]; then echo "$$out"; echo "pip-audit could not run (above)."; exit 1; fi; \
	  if [ $$skipped -gt 0 ]; then \
	    echo "WARNING: $$skipped PyPI packages could NOT be audited: PyPI's vulnerability data is unreachable from here."; \
	    echo "         This is not a clean result. Run 'make audit' where PyPI's vulnerability data is reachable."; \
	    if [ -n "$(AUDIT_STRICT)" ]; then exit 1; fi; \
	  else echo "$$out"; fi
	@echo "== npm packages: npm audit --omit=dev --audit-level=high =="
	@out=$$(npm audit --omit=dev --audit-level=high 2>&1); rc=$$?; echo "$$out"; \
	  if [ $$rc -ne 0 ] && echo "$$out" | grep -qi "audit endpoint returned an error\|ENOTFOUND\|ECONNREFUSED\|EAI_AGAIN\|ETIMEDOUT\|network"; then \
	    echo "WARNING: npm's audit service is unreachable from here: npm packages were NOT audited."; \
	    echo "         This is not a clean result. Run 'make audit' where npm's audit service is reachable."; \
	    if [ -n "$(AUDIT_STRICT)" ]; then exit 1; fi; \
	  elif [ $$rc -ne 0 ]; then echo "npm audit: VULNERABILITIES FOUND (above). What to do: docs/security.md."; exit 1; fi

messages: $(VENV)/.installed
	$(PY) manage.py makemessages -l nb --ignore=.venv --ignore=node_modules --ignore=tests -v 0

clean:
	rm -rf var staticfiles test-artifacts .pytest_cache .mypy_cache .ruff_cache

# Benchmarks on PostgreSQL (BENCH_DATABASE_URL, default database maaledata_bench), gunicorn on
# loopback; one table printed and saved to var/bench/<size>.json. The full size generates
# 10,000 patients / ~20 million measurements / 1 million audit records once and reuses them.
bench: install
	$(PY) bench/run.py --size full

bench-small: install
	$(PY) bench/run.py --size small

# Before and after in one sitting (docs/performance.md): bench/run.py alternated between a worktree
# of BEFORE and this tree, RUNS times each, medians per scenario. E.g.
# make bench-compare BEFORE=1794b35 RUNS=5 ONLY="search page audit"
bench-compare: install
	@test -n "$(BEFORE)" || { echo "usage: make bench-compare BEFORE=<commit> [RUNS=5] [ONLY=\"search page audit\"]"; exit 2; }
	$(PY) bench/compare.py --before $(BEFORE) --runs $(or $(RUNS),5) $(if $(ONLY),--only $(ONLY))

# The hot standby (issue 21): a scratch primary and its streaming standby on loopback ports
# (BENCH_REPLICA_PORTS, default two free ones), dropped at the end, also on failure. Read
# throughput with the primary alone and with the standby, replay lag under ingest, and a failover
# (crash the primary, promote the standby, the portal goes on) timed step by step. docs/scaling.md
bench-replica: install
	$(PY) bench/replica.py

# Long runs (issue 10): 50 simulated clinicians (each a devidp person of their own, the lookup
# limit on, arriving over 10 s) browsing plus a steady ingest stream, 60 s at full load
# against gunicorn on loopback (bench/load.py; scratch database SOAK_DATABASE_URL, default
# maaledata_soak). Fails on any error; prints issue 21's targets under load (bench/targets.py);
# the table is saved to var/soak/latest.json.
# Then schemathesis drives the FHIR API from its OpenAPI description: 5,000 random cases plus the
# coverage phase, a new seed each run (tests/sharing/fhir/test_openapi_fuzz.py; var/soak/fuzz.json).
soak: install
	$(PY) bench/load.py --seconds $(or $(SOAK_SECONDS),60) --clinicians $(or $(SOAK_CLINICIANS),50)
	FHIR_FUZZ_CASES=$(or $(SOAK_FUZZ_CASES),5000) FHIR_FUZZ_COVERAGE=1 FHIR_FUZZ_SEED=$$RANDOM$$RANDOM \
	  FHIR_FUZZ_REPORT=var/soak/fuzz.json \
	  DATABASE_URL=$(or $(SOAK_DATABASE_URL),postgres://postgres@127.0.0.1:5432/maaledata_soak) \
	  $(PY) -m pytest tests/sharing/fhir/test_openapi_fuzz.py -q -p no:cacheprovider

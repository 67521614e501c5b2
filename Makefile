# Two commands on a fresh machine: `make run` (portal with demo data) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
DEVIDP_PORT ?= 8081
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/maaledata
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test check bench install install-browser messages clean

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
	  idp=$$!; trap "kill $$idp 2>/dev/null" EXIT INT TERM; \
	  for i in $$(seq 50); do grep -q DEVIDP_READY var/devidp.log && break; sleep 0.2; done; \
	  grep -q DEVIDP_READY var/devidp.log || { cat var/devidp.log; exit 1; }; \
	  $(PY) manage.py demo_banner --url http://127.0.0.1:$(PORT); \
	  OIDC_ISSUER=http://127.0.0.1:$(DEVIDP_PORT) $(PY) manage.py runserver 127.0.0.1:$(PORT)

test: install install-browser
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m pytest $(PYTEST_ARGS)

check: install
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) manage.py makemigrations --check --dry-run

messages: $(VENV)/.installed
	$(PY) manage.py makemessages -l nb --ignore=.venv --ignore=node_modules --ignore=tests -v 0

clean:
	rm -rf var staticfiles test-artifacts .pytest_cache .mypy_cache .ruff_cache

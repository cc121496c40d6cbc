# Newsroom — see README.md. Needs only Python 3.11+ and make.
PYTHON ?= python3
PORT ?= 8000
# Exported: the settings build SITE_URL (links in emails, feeds) from it.
export PORT
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev
MANAGE := $(BIN)/python manage.py

.PHONY: help run serve setup test lint format messages migrate demo bench cluster-check lock clean

help:
	@echo "make run     set everything up and serve http://127.0.0.1:$(PORT)"
	@echo "make test    install the test tools and run the whole suite"
	@echo "make serve   serve without setting up again"
	@echo "make bench   load-test the site with 10,000 generated articles"
	@echo "make cluster-check  run two app servers, nginx and two workers under load and failures"
	@echo "make lint    ruff check + format check + migrations check"
	@echo "make format  ruff format + fixes"
	@echo "make messages  update and compile the French catalogue (needs gettext)"
	@echo "make lock    regenerate requirements*.lock from pyproject.toml"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installs come from the lock files (exact versions and their hashes), the
# project itself after them; `make lock` regenerates the locks from pyproject.toml.
$(RUNTIME_STAMP): requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(DEV_STAMP): requirements-dev.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(RUNTIME_STAMP) $@

# One lock for every Python from 3.11 on (markers where they differ).
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 \
	--generate-hashes --no-header --quiet
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet uv
	$(UV_COMPILE) -o requirements.lock
	$(UV_COMPILE) --extra dev -o requirements-dev.lock

setup: $(RUNTIME_STAMP)
	$(MANAGE) migrate --noinput
	$(MANAGE) load_demo_content --with-accounts

run: setup serve

# The web server and, beside it, the worker that sends newsletters; stopping one
# (Ctrl-C, SIGTERM) stops both, and the last to exit stops the embedded database.
# No autoreloader: on Ctrl-C or SIGTERM it SIGKILLs the server it runs, which
# would leave the embedded database running (for auto-reload while coding, run
# `.venv/bin/python manage.py runserver` yourself).
serve: $(RUNTIME_STAMP)
	@echo ""
	@echo "  Site:  http://127.0.0.1:$(PORT)/"
	@echo "  Admin: http://127.0.0.1:$(PORT)/admin/"
	@echo "  Mail:  written to var/outbox/ (set EMAIL_URL to send for real)"
	@echo ""
	@$(MANAGE) worker --no-reload & worker=$$!; \
		trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
		$(MANAGE) runserver --noreload 127.0.0.1:$(PORT)

migrate: $(RUNTIME_STAMP)
	$(MANAGE) migrate --noinput

demo: $(RUNTIME_STAMP)
	$(MANAGE) load_demo_content --with-accounts

NODE_STAMP := node_modules/.installed

# axe-core for the accessibility tests; without npm those tests are skipped (but
# not in CI, where .ci/run installs what is missing).
$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the accessibility tests will be skipped"; fi

test: $(DEV_STAMP) $(NODE_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Load test: gunicorn in production settings against separate databases of
# generated articles (in var/pgdata: newsroom_bench with 10,000 articles for the
# pages, newsroom_bench_search with 100,000 for search), measured with wrk. The
# first run generates them (several minutes); later runs reuse them.
# Installs a Debian package when its command is missing: $(call apt,command,package)
apt = command -v $(1) >/dev/null 2>&1 || [ -x /usr/sbin/$(1) ] || { \
	echo "Installing $(2) (Debian package)…"; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(2); }

BENCH_ARGS ?=
bench: $(DEV_STAMP)
	@$(call apt,wrk,wrk)
	DATABASE_URL= EMBEDDED_DATABASE_NAME=newsroom_bench \
		$(MANAGE) benchmark --articles 10000 $(BENCH_ARGS)
	DATABASE_URL= EMBEDDED_DATABASE_NAME=newsroom_bench_search \
		$(MANAGE) benchmark --articles 100000 --search-only $(BENCH_ARGS)
	DATABASE_URL= EMBEDDED_DATABASE_NAME=newsroom_bench $(MANAGE) benchmark_newsletter

# Two app servers behind nginx, two workers, Redis, an S3 API and an SMTP sink on
# loopback, loaded and broken for a minute (see newsroom/management/commands/
# cluster_check.py). Its database is emptied: the embedded newsroom_cluster, or
# CLUSTER_DATABASE_URL (a database whose name contains "cluster").
CLUSTER_DATABASE_URL ?=
cluster-check: $(DEV_STAMP)
	@$(call apt,nginx,nginx)
	DATABASE_URL=$(CLUSTER_DATABASE_URL) EMBEDDED_DATABASE_NAME=newsroom_cluster \
		$(MANAGE) cluster_check

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MANAGE) makemigrations --check --dry-run

format: $(DEV_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The French catalogue (locale/fr), committed with its compiled .mo so that a
# machine without gettext runs the site. Message ids are French: a new entry
# gets its id as translation (msgen); English ids of installed packages
# (newsroom/package_strings.py) must then be translated by hand.
PO := locale/fr/LC_MESSAGES/django.po
messages: $(RUNTIME_STAMP)
	$(MANAGE) makemessages -l fr --no-obsolete --ignore=.venv --ignore=node_modules \
		--ignore=var --ignore=tests --ignore=static
	msgattrib --clear-fuzzy --empty --clear-previous --no-obsolete $(PO) -o $(PO)
	msgattrib --untranslated $(PO) | msgen - | msgcat --use-first --sort-by-file - $(PO) -o $(PO)
	$(MANAGE) compilemessages -l fr --ignore=.venv --ignore=node_modules

clean:
	rm -rf $(VENV) var/static .pytest_cache

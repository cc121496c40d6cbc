# Newsroom — see README.md. Needs only Python 3.11+ and make.
PYTHON ?= python3
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev
MANAGE := $(BIN)/python manage.py

.PHONY: help run serve setup test lint format migrate demo bench clean

help:
	@echo "make run     set everything up and serve http://127.0.0.1:$(PORT)"
	@echo "make test    install the test tools and run the whole suite"
	@echo "make serve   serve without setting up again"
	@echo "make bench   load-test the site with 10,000 generated articles"
	@echo "make lint    ruff check + format check + migrations check"
	@echo "make format  ruff format + fixes"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(RUNTIME_STAMP) $@

setup: $(RUNTIME_STAMP)
	$(MANAGE) migrate --noinput
	$(MANAGE) load_demo_content --with-accounts

run: setup serve

serve: $(RUNTIME_STAMP)
	@echo ""
	@echo "  Site:  http://127.0.0.1:$(PORT)/"
	@echo "  Admin: http://127.0.0.1:$(PORT)/admin/"
	@echo ""
	$(MANAGE) runserver 127.0.0.1:$(PORT)

migrate: $(RUNTIME_STAMP)
	$(MANAGE) migrate --noinput

demo: $(RUNTIME_STAMP)
	$(MANAGE) load_demo_content --with-accounts

test: $(DEV_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MANAGE) makemigrations --check --dry-run

format: $(DEV_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var/static .pytest_cache

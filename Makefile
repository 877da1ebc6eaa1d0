# The doors into UsageHub. `make run` and `make test` are the README's two commands.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run test lint audit bench install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo
	@echo
	@echo "  UsageHub demo: http://127.0.0.1:$(PORT)/"
	@echo "  Sign in as alice (CSM), erin (manager) or admin — password: usagehub-demo"
	@echo
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

audit: $(STAMP)
	$(BIN)/bandit -q -r usagehub accounts scoring
	.ci/audit-dependencies

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache .mypy_cache .ruff_cache

bench: $(STAMP)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/layout.py
	$(BIN)/python bench/recompute.py
	$(BIN)/python bench/partitioning.py
	$(BIN)/python bench/pages.py
	$(BIN)/python bench/insights.py
	$(BIN)/python bench/api.py
	$(BIN)/python bench/load.py

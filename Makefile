# The two commands: `make run` (the embedded service) and `make test` (the whole suite, SQLite then PostgreSQL).
VENV ?= .venv
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite test-postgres node-clients lint format bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	HOST=$(HOST) PORT=$(PORT) $(BIN)/orderfactory serve

# The two passes run side by side (each on its own database and data directory); make prints each pass's output
# when it ends. Run one alone with `make test-sqlite` or `make test-postgres`.
test: $(STAMP) lint node-clients
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

# The official JS clients the SDK tests drive (tests/sdk), installed once before the passes start: each pass would
# otherwise install them into the same folder at the same time. Without npm the SDK tests are skipped.
node-clients:
	@if command -v npm >/dev/null 2>&1 && [ ! -d tests/sdk/node_modules/@commercelayer/sdk ]; then \
		(cd tests/sdk && npm ci --no-audit --no-fund --loglevel=error) || \
			echo "npm ci failed in tests/sdk: the SDK tests will try again"; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy

# The operator console's browser tests drive Chromium (Debian's package: .ci/run installs it when missing).
CHROMIUM ?= $(or $(ORDERFACTORY_CHROMIUM),/usr/bin/chromium)

test-sqlite: $(STAMP)
	@echo "== tests on SQLite =="
	@test -x "$(CHROMIUM)" || echo "No Chromium at $(CHROMIUM): the operator console's browser tests" \
		"(tests/console/test_browser.py) are SKIPPED. Install it: apt-get install -y chromium"
	ORDERFACTORY_DATA_DIR=$$(mktemp -d) ORDERFACTORY_DATABASE_URL= $(BIN)/pytest

test-postgres: $(STAMP)
	@if [ -n "$$ORDERFACTORY_TEST_DATABASE_URL" ]; then \
		echo "== tests on PostgreSQL =="; \
		echo "(the console's browser tests ran in the SQLite pass: every console page and action is also tested" \
			"through the test client on PostgreSQL, so a second browser pass adds no coverage)"; \
		$(BIN)/python scripts/ensure_database.py "$$ORDERFACTORY_TEST_DATABASE_URL" && \
		ORDERFACTORY_DATA_DIR=$$(mktemp -d) ORDERFACTORY_DATABASE_URL="$$ORDERFACTORY_TEST_DATABASE_URL" \
			$(BIN)/pytest -m "not browser"; \
	else echo "ORDERFACTORY_TEST_DATABASE_URL is not set: skipping the PostgreSQL run"; fi

typecheck: $(STAMP)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format src tests bench scripts
	$(BIN)/ruff check --fix src tests bench scripts

bench: $(STAMP)
	$(BIN)/python bench/api_read.py

clean:
	rm -rf $(VENV) var build *.egg-info src/*.egg-info

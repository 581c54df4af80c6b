# brickops: `make run` starts the whole stack, `make test` runs the whole suite.
# Both create .venv and install what they need on first use.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install run test lint format lock clean bench-deps chaos browser

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $@

run: install
	$(BIN)/python manage.py ensure_database
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py setup_schedules
	$(BIN)/python manage.py ensure_demo_account
	$(BIN)/python manage.py metrics_reset
	PATH="$(BIN):$$PATH" $(BIN)/honcho --procfile Procfile.dev start

# The suite in TEST_PROCESSES pytest-xdist workers, each with its own test database and Redis
# databases (config/settings/test.py); at most 6, the Redis databases a machine has.
TEST_PROCESSES ?= 4

test: install browser
	$(BIN)/python -m pytest -n $(TEST_PROCESSES) --dist loadgroup $(PYTEST_ARGS)

# The admin's browser test (tests/e2e) drives Debian's Chromium through Playwright; Playwright's
# own browser downloads are never used.
browser:
	@command -v chromium >/dev/null || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -q && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

# The long forms (tests/longform.py), tens of minutes: the fault scenarios (figures in
# bench/results/reliability.json), three seeds of the inventory's property test, the full fuzz,
# a file of 50,000 lots.
chaos: install
	CHAOS=1 $(BIN)/python -m pytest tests/reliability tests/inventory/test_integration.py \
		tests/security/test_fuzz_api.py tests/inventory/test_files_import.py \
		tests/inventory/test_upload_integration.py \
		-p no:cacheprovider $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The read benchmark's load generator (bench/catalog.py reads), from Debian.
bench-deps:
	command -v wrk >/dev/null || apt-get install -y wrk

# Re-pin every dependency to the newest versions pyproject.toml allows.
lock:
	rm -rf /tmp/brickops-lock && $(PYTHON) -m venv /tmp/brickops-lock
	/tmp/brickops-lock/bin/pip install --quiet --upgrade pip
	/tmp/brickops-lock/bin/pip install --quiet -e ".[dev]"
	/tmp/brickops-lock/bin/pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache

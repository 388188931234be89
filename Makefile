# Every target that needs tools depends on `install`, which is idempotent: a fresh
# clone needs no other step. Stamps make re-runs cheap; they are rebuilt when the
# files that pin the tools change.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SPEC := openapi/payment-kit.yaml
export PATH := $(CURDIR)/$(BIN):$(CURDIR)/node_modules/.bin:$(PATH)
# The other supported Pythons (the main venv is the machine's python3, 3.11): each gets its own
# venv when this machine has the interpreter (on PATH, or from pyenv), and `make test` runs the
# Python suites on each, saying which versions it skipped and why.
EXTRA_PYTHONS := 3.12 3.13

.PHONY: install browser golang other-languages node-sdk lint test coverage-report pytest-main pytest-postgres spec-check generate check-generated docs demo sandbox contract integration bench clean

install: $(VENV)/.installed node_modules/.installed browser golang $(foreach v,$(EXTRA_PYTHONS),$(VENV)-$(v)/.installed)

# The hosted-page browser test's headless Chromium and its driver, from Debian's packages
# (never a browser downloaded at run time). CI runs as root with apt; elsewhere, say what to run.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else \
		echo "note: chromium and chromedriver are missing (sudo apt-get install chromium chromium-driver); the browser test will skip"; \
	fi

# Go and the go client's one dependency (gopkg.in/validator.v2), from Debian's packages, for
# `make other-languages` (go modules are not downloaded). CI runs as root with apt; elsewhere, say what to run.
golang:
	@if command -v go >/dev/null && [ -d /usr/share/gocode/src/gopkg.in/validator.v2 ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go golang-gopkg-validator.v2-dev >/dev/null; \
	else \
		echo "note: go is missing (sudo apt-get install golang-go golang-gopkg-validator.v2-dev); make other-languages will skip the go client"; \
	fi

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# A pyenv shim answers `command -v` even for a version it cannot run, so each candidate is tried.
$(VENV)-%/.installed: pyproject.toml
	@interpreter=$$(for candidate in $$(command -v python$*) $(HOME)/.pyenv/versions/$*.*/bin/python$*; do \
		"$$candidate" -c '' 2>/dev/null && { echo "$$candidate"; break; }; done); \
	if [ -z "$$interpreter" ]; then \
		echo "Python $*: no venv (no runnable python$* on PATH or in ~/.pyenv/versions/$*.*)"; exit 0; fi; \
	set -e; test -x $(VENV)-$*/bin/python || "$$interpreter" -m venv $(VENV)-$*; \
	$(VENV)-$*/bin/python -m pip install --quiet --upgrade pip; \
	$(VENV)-$*/bin/python -m pip install --quiet -e '.[dev]'; \
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python tests/sandbox_imports.py --check --quiet

spec-check: install
	$(BIN)/openapi-spec-validator $(SPEC) openapi/sandbox.yaml
	redocly lint --config openapi/redocly.yaml $(SPEC) openapi/sandbox.yaml
	$(BIN)/python tests/spec_typescript_check.py
	$(BIN)/python tests/spec_generators_check.py

# Clients other teams generate from the document, run: openapi-generator's python, typescript-fetch
# and go, and openapi-typescript + openapi-fetch, each built (tsc --strict, go build and vet) and run
# through one flow against a sandbox on a free loopback port (tests/other_languages/run.py).
other-languages: install
	$(BIN)/python tests/other_languages/run.py

# PaymentKit's own Node SDK (@blocklet/payment-js, pinned in package.json) runs every example of its
# README unchanged, through @blocklet/sdk's component.call, against a sandbox on a free loopback port
# (tests/node_sdk/run.py): a few seconds.
node-sdk: install
	$(BIN)/python tests/node_sdk/run.py

# The HTTP reference as one HTML file (built, not committed: `make docs` rebuilds it from the document).
docs: install
	redocly build-docs $(SPEC) --output docs/api.html
	$(BIN)/python generator/api_reference.py docs/python-api.md

generate: install
	$(BIN)/python generator/generate.py --output payment_kit_client

check-generated: install
	$(BIN)/python generator/generate.py --check payment_kit_client

# The Python suites run on every supported version at once (two cores keep up): the main venv
# runs everything; the others run the suites that test the interpreter rather than the sandbox's
# answers (see VERSION_LEG_INTEGRATION below), which keeps CI well under 15 minutes. Alongside, on the main
# Python only, the PostgreSQL leg. CI runs this (.ci/run), so lint and the generated-code check
# hold on every submission. Each run takes a new random order (pytest-randomly), the same for every
# leg, and says which: `make test SEED=N` replays it. Each leg's output is kept in build/legs/, and
# the run closes on all legs' results added up.
ifndef SEED
SEED := $(shell od -An -N4 -tu4 /dev/urandom | tr -d ' ')
endif
RANDOM_ORDER := -p randomly -p no:cacheprovider --randomly-seed=$(SEED)
test: install
	@echo "== test order: --randomly-seed=$(SEED) (make test SEED=$(SEED) replays it)"
	$(MAKE) --no-print-directory lint spec-check check-generated other-languages node-sdk
	rm -rf build/coverage build/legs && mkdir -p build/coverage build/legs
	$(MAKE) --no-print-directory -j --output-sync=target SEED=$(SEED) pytest-main $(addprefix pytest-,$(EXTRA_PYTHONS)) pytest-postgres
	$(MAKE) --no-print-directory coverage-report
	@$(BIN)/python tests/legs_summary.py build/legs/*.log

# The main and PostgreSQL legs measure line and branch coverage of the SDK, the models' runtime and
# the sandbox ([tool.coverage.run] in pyproject.toml), each into its own data file.
COVERAGE := --cov --cov-report=

# Both legs' data combined; every module held to the floor in tests/coverage_floor.py (README.md,
# "Coverage", says why any module is below it).
coverage-report:
	$(BIN)/coverage combine --keep --quiet --data-file=build/coverage/all $$(ls build/coverage/main build/coverage/postgres 2>/dev/null)
	$(BIN)/coverage json --quiet --data-file=build/coverage/all -o build/coverage.json
	$(BIN)/python tests/coverage_floor.py build/coverage.json

# The example applications' own suites (examples/testing: a Starlette and a Flask shop tested with
# payment_kit.testing's plugin alone) run in the main and the version legs, beside tests/: a few
# seconds, in a process that has already paid for the sandbox's document.
EXAMPLE_SUITES := examples/testing

pytest-main:
	@echo "== $$($(BIN)/python --version): the Python suites and the example suites, with coverage"
	set -o pipefail; COVERAGE_FILE=build/coverage/main $(BIN)/python -m pytest -q $(RANDOM_ORDER) --ignore=tests/postgres $(COVERAGE) \
		tests $(EXAMPLE_SUITES) | tee build/legs/main.log

# The sandbox on PostgreSQL (a server the tests start from /usr/lib/postgresql/*/bin, on a free
# loopback port): tests/postgres (store, schema, 2-worker concurrency) and the integration suite
# against it, but for two files about SQLite files themselves (the sandbox's own process and its
# SIGKILL durability; they run in the other legs). Without PostgreSQL on the machine the leg is
# skipped, saying why; under CI it fails.
PG_LEG_SKIPS := test_concurrency_and_durability test_sandbox_server
pytest-postgres:
	@if ! reason=$$($(BIN)/python tests/postgres_server.py) && [ -z "$$CI" ]; then \
		echo "== PostgreSQL leg: SKIPPED, $$reason"; exit 0; fi; \
	echo "== $$($(BIN)/python --version): the sandbox on PostgreSQL"; \
	set -o pipefail; COVERAGE_FILE=build/coverage/postgres PAYMENT_KIT_SANDBOX_TEST_BACKEND=postgresql \
		$(BIN)/python -m pytest -q $(RANDOM_ORDER) -rs $(COVERAGE) \
		tests/postgres tests/integration $(foreach f,$(PG_LEG_SKIPS),--ignore=tests/integration/$(f).py) \
		| tee build/legs/postgres.log

# The other Pythons run the unit and engine suites, and of the integration suite (which drives the
# sandbox over HTTP, the same on every interpreter, and is most of the main leg's time) the files
# that exercise the interpreter itself: a sandbox process, the transport under faults, one resource.
VERSION_LEG_INTEGRATION := test_sandbox_server test_faults test_catalog
pytest-%:
	@if [ ! -x $(VENV)-$*/bin/python ]; then \
		echo "== Python $*: SKIPPED, this machine has no python$* (make install looks on PATH and in ~/.pyenv/versions)"; \
		exit 0; fi; \
	echo "== $$($(VENV)-$*/bin/python --version): the unit and engine suites, the example suites, and of tests/integration only $(VERSION_LEG_INTEGRATION)"; \
	set -o pipefail; $(VENV)-$*/bin/python -m pytest -q $(RANDOM_ORDER) --ignore=tests/contract --ignore=tests/postgres \
		$(addprefix --ignore=,$(filter-out $(VERSION_LEG_INTEGRATION:%=tests/integration/%.py),$(wildcard tests/integration/test_*.py))) \
		tests $(EXAMPLE_SUITES) | tee build/legs/python$*.log

demo: install
	$(BIN)/python examples/run_demo.py

# The facade's integration suite: against a sandbox it starts itself, or against
# any PaymentKit named by PAYMENT_KIT_BASE_URL and PAYMENT_KIT_API_KEY. (The suite
# reads its own variable names so that a developer's shell settings never point
# `make test` at a real deployment by accident.)
integration: install
	PAYMENT_KIT_INTEGRATION_BASE_URL="$(PAYMENT_KIT_BASE_URL)" PAYMENT_KIT_INTEGRATION_API_KEY="$(PAYMENT_KIT_API_KEY)" \
		$(BIN)/python -m pytest -q tests/integration

# The database is sandbox.sqlite unless PAYMENT_KIT_SANDBOX_DB names another (and
# PAYMENT_KIT_SANDBOX_WORKERS sets the processes): see the README's shared team sandbox.
sandbox: install
	$(BIN)/python -m payment_kit_sandbox --host 127.0.0.1 --port 8787

# Schemathesis over every operation: against a sandbox it starts, or BASE_URL=... API_KEY=...
# (read-only there unless CONTRACT_WRITES=1). CONTRACT_MAX_TIME bounds the run (seconds).
contract: install
	BASE_URL="$(BASE_URL)" API_KEY="$(API_KEY)" CONTRACT_WRITES="$(CONTRACT_WRITES)" \
		CONTRACT_MAX_TIME="$(or $(CONTRACT_MAX_TIME),600)" $(BIN)/python contract/run.py

# Speed against raw httpx and stripe-python, on loopback servers it starts itself; prints a
# table and writes benchmarks/results.json. BENCH_ARGS passes options, e.g. "--only decode,import".
bench: install $(VENV)/.bench-installed
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

# The peer SDK the benchmarks compare against: a bench-only dependency.
$(VENV)/.bench-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@

clean:
	rm -rf $(VENV) $(addprefix $(VENV)-,$(EXTRA_PYTHONS)) node_modules .pytest_cache .mypy_cache .ruff_cache

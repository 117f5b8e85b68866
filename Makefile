# esalog — two set-up commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# System packages the tests drive for real: rsyslogd (the exec-filter host of the rsyslog test) and
# libmagic1 (splunk-appinspect's python-magic).
SYSTEM_PACKAGES := rsyslog libmagic1

.PHONY: run test bench soak lint clean system-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev,bench]'
	touch $(VENV)/.installed $@

## make run: create .venv, install, convert the bundled example logs to NDJSON on stdout
run: $(VENV)/.installed
	$(BIN)/esalog parse examples/logs/*.log

## system-deps: install the system packages the tests need (root + apt), or name the command to run
system-deps:
	@if command -v rsyslogd >/dev/null 2>&1 || [ -x /usr/sbin/rsyslogd ]; then :; else missing=1; fi; \
	if ldconfig -p 2>/dev/null | grep -q 'libmagic\.so\.1'; then :; else missing=1; fi; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "make test: installing system packages: $(SYSTEM_PACKAGES)"; \
			DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES) >/dev/null; \
		else \
			echo "make test: missing system packages; run: sudo apt-get install -y --no-install-recommends $(SYSTEM_PACKAGES)" >&2; \
			exit 1; \
		fi; \
	fi

## make test: install system packages and dev extras, then run the whole test suite
test: system-deps $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q

## make bench: hot-path benchmark (see bench/README.md)
bench: $(VENV)/.dev-installed
	$(BIN)/python bench/run.py $(BENCH_ARGS)

## make soak: ship and listen under faults (kill -9 loops, rotation while stopped, floods, outages),
## counted by line identity (see bench/README.md); SOAK_ARGS=--short for the quick version make test runs
soak: $(VENV)/.dev-installed
	$(BIN)/python bench/soak.py $(SOAK_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache

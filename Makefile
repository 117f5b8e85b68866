# esalog — two set-up commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# System packages the tests drive for real: rsyslogd (the exec-filter host of the rsyslog test) and
# libmagic1 (splunk-appinspect's python-magic); libpcre2-dev lets the compiled core use PCRE2's JIT.
SYSTEM_PACKAGES := rsyslog libmagic1 libpcre2-dev

.PHONY: run test bench lint clean system-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The editable install also builds the compiled core (src/esalog/_core*.so) where a C compiler is at hand;
# `esalog --version` says which core runs.
$(VENV)/.installed: pyproject.toml setup.py src/esalog/_core.pyx | $(BIN)/python
	$(BIN)/pip install -q -e .
	$(BIN)/esalog --version
	touch $@

$(VENV)/.dev-installed: pyproject.toml setup.py src/esalog/_core.pyx | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev,bench]'
	$(BIN)/esalog --version
	touch $(VENV)/.installed $@

## make run: create .venv, install, convert the bundled example logs to NDJSON on stdout
run: $(VENV)/.installed
	$(BIN)/esalog parse examples/logs/*.log

## system-deps: install the system packages the tests need (root + apt), or name the command to run
system-deps:
	@if command -v rsyslogd >/dev/null 2>&1 || [ -x /usr/sbin/rsyslogd ]; then :; else missing=1; fi; \
	if ldconfig -p 2>/dev/null | grep -q 'libmagic\.so\.1'; then :; else missing=1; fi; \
	if command -v pcre2-config >/dev/null 2>&1; then :; else missing=1; fi; \
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

# The tests that parse, run again on the pure-Python path (ESALOG_PURE=1): both cores stay tested.
PURE_TESTS := tests/core tests/perf tests/other_log_types tests/tracking tests/test_golden.py \
	tests/test_public_corpus.py tests/test_placeholders_decoding.py tests/integrations/test_filter_protocols.py

## make test: install system packages and dev extras, then run the whole test suite (and the parsing
## tests once more on the pure-Python path)
test: system-deps $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q
	ESALOG_PURE=1 $(BIN)/python -m pytest -q $(PURE_TESTS)

## make bench: hot-path benchmark (see bench/README.md)
bench: $(VENV)/.dev-installed
	$(BIN)/python bench/run.py $(BENCH_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache src/esalog/_core.c src/esalog/_core*.so

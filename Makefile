# esalog — two set-up commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# System packages the tests drive for real: rsyslogd (the exec-filter host of the rsyslog test),
# libmagic1 (splunk-appinspect's python-magic), on Debian's own Python python3-venv (ensurepip), and
# libpcre2-dev (the compiled core uses PCRE2's JIT where its headers are there at build time).
# How each is found; overridable (the test of this target fakes a machine without them).
HAVE_RSYSLOG  ?= command -v rsyslogd >/dev/null 2>&1 || test -x /usr/sbin/rsyslogd || test -x /sbin/rsyslogd
HAVE_LIBMAGIC ?= ldconfig -p 2>/dev/null | grep -q 'libmagic\.so\.1'
HAVE_VENV     ?= $(PYTHON) -c 'import ensurepip, venv' >/dev/null 2>&1
HAVE_PCRE2    ?= command -v pcre2-config >/dev/null 2>&1
USER_ID       ?= $(shell id -u)
APT_GET       ?= apt-get

.PHONY: run test bench soak lint clean system-deps

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

## system-deps: install the system packages the tests need (root + apt), or stop naming the command to run
system-deps:
	@missing=""; \
	$(HAVE_RSYSLOG) || missing="$$missing rsyslog"; \
	$(HAVE_LIBMAGIC) || missing="$$missing libmagic1"; \
	$(HAVE_VENV) || missing="$$missing python3-venv"; \
	$(HAVE_PCRE2) || missing="$$missing libpcre2-dev"; \
	[ -n "$$missing" ] || exit 0; \
	command="apt-get install -y --no-install-recommends$$missing"; \
	if [ "$(USER_ID)" != 0 ] || ! command -v $(APT_GET) >/dev/null 2>&1; then \
		echo "make test: missing system packages:$$missing; run: sudo $$command" >&2; exit 1; \
	fi; \
	echo "make test: installing system packages:$$missing"; \
	{ DEBIAN_FRONTEND=noninteractive $(APT_GET) update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(APT_GET) install -y -qq --no-install-recommends $$missing; } >/dev/null 2>&1 \
		|| { echo "make test: apt-get could not install$$missing; run it to see why: $$command" >&2; exit 1; }; \
	still=""; \
	$(HAVE_RSYSLOG) || still="$$still rsyslog"; \
	$(HAVE_LIBMAGIC) || still="$$still libmagic1"; \
	$(HAVE_VENV) || still="$$still python3-venv"; \
	$(HAVE_PCRE2) || still="$$still libpcre2-dev"; \
	[ -z "$$still" ] || { echo "make test: still missing after apt-get:$$still; run: $$command" >&2; exit 1; }

# The tests of the commands the compiled core serves (--stateless parse, filter, ship; --workers), run again
# on the pure-Python path (ESALOG_PURE=1): both cores stay tested. The others run the Python path anyway;
# tests/core/test_native.py (the compiled core against the Python path) needs the compiled core.
PURE_TESTS := tests/core tests/perf tests/tracking/test_cli.py tests/tracking/test_tracker.py \
	tests/integrations/test_filter_protocols.py tests/connectors/test_ship_cli.py \
	--ignore=tests/core/test_native.py

## make test: install system packages and dev extras, then run the whole test suite (and the parsing
## tests once more on the pure-Python path)
test: system-deps $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	HYPOTHESIS_PROFILE=ci $(BIN)/python -m pytest -q
	HYPOTHESIS_PROFILE=ci ESALOG_PURE=1 $(BIN)/python -m pytest -q $(PURE_TESTS)

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
	rm -rf $(VENV) build src/*.egg-info .pytest_cache src/esalog/_core.c src/esalog/_core*.so

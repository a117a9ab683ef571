# The two commands that matter: `make run` and `make test` (README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_PORT ?= 8080

.PHONY: install run test lint bench bench-tools soak fuzz clean

install: $(STAMP)

$(STAMP): pyproject.toml setup.py indexes/_probe.c indexes/_vendor/xxhash.h screening/_name_candidates.c screening/_fsync_thread.c
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/screening serve --demo --port $(DEMO_PORT)

test: install
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# wrk drives the HTTP table of the bench; nginx is its `return 200` floor (bench/README.md).
# Installed only when missing: Debian packages, so root (or APT_GET="sudo apt-get").
APT_GET ?= apt-get

bench-tools:
	@missing=""; \
	command -v wrk >/dev/null 2>&1 || missing="$$missing wrk"; \
	test -x /usr/sbin/nginx || command -v nginx >/dev/null 2>&1 || missing="$$missing nginx-light"; \
	if [ -n "$$missing" ]; then \
		echo "bench-tools: installing$$missing"; \
		$(APT_GET) update -qq && $(APT_GET) install -y -qq$$missing; \
	fi

# The soak (bench/README.md): SOAK_SECONDS of steady traffic while loads and compactions run.
SOAK_SECONDS ?= 180

bench: install bench-tools
	$(BIN)/screening bench --soak-seconds $(SOAK_SECONDS)

soak: install bench-tools
	$(BIN)/screening bench --soak --soak-seconds $(SOAK_SECONDS)

# Fuzzing (fuzz/README.md): each fuzz/fuzz_NAME.py runs FUZZ_SECONDS under atheris (the
# `fuzz` extra), from fuzz/seeds/NAME and the corpus it grows in .fuzz/NAME; a finding is
# saved there (crash-*) and fails the run.
FUZZ_SECONDS ?= 30
FUZZ_STAMP := $(VENV)/.fuzz-installed

$(FUZZ_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,fuzz]'
	touch $(FUZZ_STAMP)

fuzz: $(FUZZ_STAMP)
	@for target in fuzz/fuzz_*.py; do \
		name=$$(basename $$target .py); name=$${name#fuzz_}; \
		mkdir -p .fuzz/$$name; \
		seeds=$$(test -d fuzz/seeds/$$name && echo fuzz/seeds/$$name); \
		echo "fuzz: $$name for $(FUZZ_SECONDS) s (log: .fuzz/$$name.log)"; \
		$(BIN)/python $$target -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
			-artifact_prefix=.fuzz/$$name/ .fuzz/$$name $$seeds >.fuzz/$$name.log 2>&1 \
			|| { grep -v '^INFO: Instrumenting' .fuzz/$$name.log | tail -40; exit 1; }; \
		tail -n 1 .fuzz/$$name.log; \
	done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .fuzz

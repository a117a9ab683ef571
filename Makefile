# The two commands that matter: `make run` and `make test` (README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_PORT ?= 8080

.PHONY: install run test lint bench bench-tools clean

install: $(STAMP)

$(STAMP): pyproject.toml
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

bench: install bench-tools
	$(BIN)/screening bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

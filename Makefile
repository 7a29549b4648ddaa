# Bosco: `make run` starts everything, `make test` runs every test. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
REQ_HASH := $(shell sha1sum requirements.txt | cut -c1-12)
STAMP := $(VENV)/.installed-$(REQ_HASH)

.PHONY: install run test lint imports audit typecheck bench-quick clean-var

$(STAMP): requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

run: install
	$(BIN)/python scripts/devenv.py run

test: install
	$(BIN)/python scripts/devenv.py test $(ARGS)

lint: install imports
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The architecture contract (.importlinter: layers, devtools out of the product, a pure insights.ml)
# and no import cycle between project modules. CI runs this too.
imports: install
	$(BIN)/lint-imports --no-cache
	$(BIN)/python scripts/check_cycles.py

# bandit over the code (offline) and pip-audit over requirements.txt (needs the vulnerability
# service; prints "pip-audit: not run (no network)" without it). See scripts/audit.py.
audit: install
	$(BIN)/python scripts/audit.py

typecheck: install
	$(BIN)/mypy

clean-var:
	rm -rf var

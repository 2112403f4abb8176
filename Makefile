# Two commands on a fresh machine: `make up` runs the platform (writing .env with the
# development secrets on first run), `make test` passes the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up test lint typecheck check faults bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Development mode: the public development secrets are accepted, with a loud warning.
# A deployment sets its own secrets and leaves DEV_MODE unset (see README, Configuration).
up: $(STAMP)
	DEV_MODE=true $(BIN)/contactcenter up --write-env

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy contactcenter services shared
	@# pytest exits 5 when it collected nothing: a failure, said in words.
	$(BIN)/pytest -q || { status=$$?; [ $$status -ne 5 ] || echo 'make test: pytest collected no tests; that is a failure' >&2; exit $$status; }

faults: $(STAMP)
	$(BIN)/pytest -q -m faults tests/faults

bench: $(STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

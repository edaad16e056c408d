# otpinbox: `make run` to try it, `make test` to check it.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: run test lint format check-migrations bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

## run: install, migrate, seed demo data on an empty database, start SMTP + web + worker
run: $(STAMP)
	$(BIN)/otpinbox db upgrade
	$(BIN)/otpinbox demo
	$(BIN)/otpinbox run

## test: install, lint, and run the whole suite (TEST_DATABASE_URL selects PostgreSQL)
test: $(STAMP) lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## check-migrations: the Alembic migrations build exactly the schema the models describe
check-migrations: $(STAMP)
	rm -f /tmp/otpinbox-migrations-check.db
	OTPINBOX_DATABASE_URL=$${MIGRATIONS_DATABASE_URL:-sqlite:////tmp/otpinbox-migrations-check.db} $(BIN)/otpinbox db upgrade
	OTPINBOX_DATABASE_URL=$${MIGRATIONS_DATABASE_URL:-sqlite:////tmp/otpinbox-migrations-check.db} $(BIN)/otpinbox db check

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

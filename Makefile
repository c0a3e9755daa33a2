# Common commands. Each target creates the virtual environment on first use,
# so `make run` and `make test` work on a fresh clone.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint typecheck format translations bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test,dev]"
	touch $(STAMP)

run: $(STAMP)  ## start the service on the embedded default
	$(VENV)/bin/archive run

test: $(STAMP)  ## the whole suite, on SQLite and PostgreSQL
	$(PY) -m pytest

test-fast: $(STAMP)  ## skip the tests that start servers and workers
	$(PY) -m pytest -m "not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff format .

translations: $(STAMP)  ## re-extract messages, merge into the catalogues, compile
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k "_t:1c,2" -k "lazy_pgettext:1c,2" -o archive_service/translations/messages.pot .
	$(VENV)/bin/pybabel update -i archive_service/translations/messages.pot -d archive_service/translations
	$(VENV)/bin/pybabel compile -d archive_service/translations

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

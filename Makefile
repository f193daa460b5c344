# The two commands of the README. Both create .venv and install pgvecdb into it when needed.

PYTHON ?= python3
VENV := .venv
INSTALLED := $(VENV)/.installed

.PHONY: serve test

serve: $(INSTALLED)
	$(VENV)/bin/pgvecdb serve --data-dir ./pgvecdb-data

# --timeout bounds any single test, so a hang fails that test instead of stalling CI.
test: $(INSTALLED)
	$(VENV)/bin/python -m pytest -q --timeout=180 -p no:cacheprovider

$(INSTALLED): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	touch $(INSTALLED)

# Two commands do all the set-up on a fresh machine (see README):
#   make run   - install, train the bundled model on the sample data, and route the sample open batch
#   make test  - install and run the tests
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test test-all lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# CPU build of torch from local disk, pinned, before anything that depends on it.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	$(VENV)/bin/jiaoban train data/samples/closed_cases.csv --promote
	$(VENV)/bin/jiaoban route --file data/samples/open_batch.csv --out var/open_batch_routes.csv
	$(VENV)/bin/jiaoban route "关于加快推进老旧小区加装电梯工作的建议"

test: install
	$(PY) -m pytest -q -m "not slow"

test-all: install
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check nlp models training api tests

clean:
	rm -rf $(VENV) var .pytest_cache

# Two commands do all the set-up on a fresh machine (see README):
#   make run   - install, build the encoder, train the model on the sample data, route the sample open batch,
#                and serve the API and staff page on http://127.0.0.1:8000
#   make test  - install and run the tests
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

HOST ?= 127.0.0.1
PORT ?= 8000
JIAOBAN := $(VENV)/bin/jiaoban
ENCODER_DIR := var/encoders/multilingual-e5-small

.PHONY: install run serve model test test-all lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# CPU build of torch from local disk, pinned, before anything that depends on it.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(ENCODER_DIR)/modules.json: | $(STAMP)
	$(JIAOBAN) encoder-build --out $(ENCODER_DIR)

# Trained once on the sample data; retrain with `make model` after changing it.
var/models/ACTIVE: data/samples/closed_cases.csv data/samples/departments.json $(ENCODER_DIR)/modules.json | $(STAMP)
	$(JIAOBAN) train data/samples/closed_cases.csv --promote --force --tag samples

model:
	rm -f var/models/ACTIVE
	$(MAKE) var/models/ACTIVE

run: install var/models/ACTIVE
	$(JIAOBAN) route --file data/samples/open_batch.csv --out var/open_batch_routes.csv
	$(MAKE) serve

serve: install
	$(VENV)/bin/uvicorn api.main:app --host $(HOST) --port $(PORT)

test: install
	$(PY) -m pytest -q -m "not slow"

test-all: install
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check nlp models training api tests

clean:
	rm -rf $(VENV) var .pytest_cache

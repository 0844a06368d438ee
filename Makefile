# Two set-up commands: `make demo` and `make test` (README). Both create .venv when missing.
SHELL   := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
# pip warns once per package about find-links folders this machine's pip.conf names
PIP_NOISE := is ignored: it is neither a file nor a directory
export AIRFLOW_HOME ?= $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export PYTHONPATH := $(CURDIR)/plugins

.PHONY: venv test test-slow demo airflow docs bench bench-nightly bench-hourly scale-demo lint clean env env-example

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PY) >/dev/null || { echo "$(PY) not found: cadence needs Python 3.11"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip 2>&1 | { grep -v "$(PIP_NOISE)" || true; }
	$(BIN)/pip install -q -r requirements.txt 2>&1 | { grep -v "$(PIP_NOISE)" || true; }
	$(BIN)/pip install -q --no-deps -e . 2>&1 | { grep -v "$(PIP_NOISE)" || true; }
	touch $(STAMP)

venv: $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check dags plugins tests
	$(BIN)/pytest -n 2 --dist loadgroup --max-worker-restart=0 -m "not slow"

# Tests that take minutes: the Celery scale demo (redis-server, two workers, two nightlies)
test-slow: $(STAMP)
	$(BIN)/pytest -m slow

demo: $(STAMP)
	$(BIN)/python -m cadence demo

# After `make demo`: Airflow standalone on 127.0.0.1:8080 with the project's dags and plugins
airflow: $(STAMP)
	$(BIN)/python -m cadence airflow

docs: $(STAMP)
	$(BIN)/python -m cadence docs

bench: $(STAMP)
	$(BIN)/python -m cadence bench

# One measured cadence_nightly through Airflow (README Benchmarks): `make bench-nightly ACCOUNTS=5000`
ACCOUNTS ?= 100000
bench-nightly: $(STAMP)
	$(BIN)/python -m cadence bench --nightly --accounts $(ACCOUNTS)

# The hourly run at scale (README Benchmarks): 100,000 due touches through the SendGrid
# stand-in with the outbox protocol checked, consent sync over 1,000,000 contacts.
bench-hourly: $(STAMP)
	$(BIN)/python -m cadence bench --hourly

# cadence_nightly on CeleryExecutor with two workers (redis-server, the local PostgreSQL),
# shards shown side by side and every table compared with DuckDB's (README "Past one machine")
scale-demo: $(STAMP)
	$(BIN)/python -m cadence scale-demo

# .env for docker-compose with fresh random secrets; an existing .env is never replaced.
env:
	$(PY) -m cadence env

# .env.example is generated: regenerate it after adding a variable to cadence/devtools/compose_env.py
env-example:
	$(PY) -m cadence env --example > .env.example

lint: $(STAMP)
	$(BIN)/ruff check dags plugins tests

clean:
	rm -rf $(VENV) .airflow data

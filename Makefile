# Two commands do all set-up on a fresh machine: `make run` and `make test`.
# They install what they need: Python packages (a virtualenv), the Kafka broker jars (Maven Central),
# and a throwaway PostgreSQL cluster from the machine's PostgreSQL 15 binaries.

VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
export PYTHONPATH := $(CURDIR)

.PHONY: install browser run test test-unit lint bench chaos simulate stop wipe token image push

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed

## everything up, self-contained, demo data loaded; Ctrl-C stops what it started
## The recipe stays one plain command, so make runs stack.py itself (no shell between): a stop signal sent to make
## alone reaches the stack (make forwards SIGTERM; on SIGINT and SIGHUP stack.py sees make handling it).
run: install
	$(PY) deploy/local/stack.py run

## the county dashboard's browser test needs Debian's chromium (and a CJK font for readable screenshots): installed
## with apt when missing and we are root; otherwise that one test skips, saying why
browser:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi 'wenquanyi\|noto sans cjk'; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-wqy-microhei >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null 2>&1 && \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-wqy-microhei >/dev/null 2>&1; } || \
	    { echo "chromium could not be installed with apt-get: the dashboard browser test needs it" >&2; exit 1; }; \
	  else echo "no /usr/bin/chromium and no root apt-get: install chromium (the dashboard browser test needs it)" >&2; \
	    exit 1; fi; \
	fi

## the whole suite on its own throwaway PostgreSQL and Kafka
test: install browser
	$(PY) -m pytest -q

test-unit: install
	$(PY) -m pytest -q tests/unit

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## each benchmark brings up its own throwaway infrastructure and prints its figures against a baseline
bench: install
	$(PY) bench/event_backbone.py
	$(PY) bench/intake_load.py
	$(PY) bench/eligibility_assess.py
	$(PY) bench/standard_rise.py
	$(PY) bench/monthly_batch.py
	$(PY) bench/batch_history.py
	$(PY) bench/monitoring_feed.py
	$(PY) bench/list_pages.py

## the payments simulation's long form: 10,000 random sequences against its independent oracle; the seed is printed,
## SIMULATION_SEED=<seed> replays a run (the suite runs 200)
simulate: install
	SIMULATION_EXAMPLES=$${SIMULATION_EXAMPLES:-10000} $(PY) -m pytest -q -s tests/integration/test_payments_simulation.py

## the chaos run's long form: 100 random SIGKILLs of the eight processes, PostgreSQL and Kafka restarted
## (the suite runs a short form with 10)
chaos: install
	CHAOS_KILLS=$${CHAOS_KILLS:-100} CHAOS_APPLICATIONS=$${CHAOS_APPLICATIONS:-60} $(PY) -m pytest -q -s tests/e2e/test_chaos.py

## stop the local PostgreSQL and Kafka that `make run` left running (KEEP_INFRA=1)
stop:
	$(PY) deploy/local/infra.py down

## stop and delete the local data
wipe:
	$(PY) deploy/local/infra.py wipe

token: install
	$(PY) -m shared.auth --sub dev-admin --roles admin --region 610626

## the one image of every service and process (Dockerfile), for a registry the county's cluster pulls from:
##   make push IMAGE=<registry>/social-assistance TAG=<release>   (README, "Production")
IMAGE ?= registry.example.invalid/social-assistance
TAG ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

image:
	docker build -t $(IMAGE):$(TAG) .

push: image
	docker push $(IMAGE):$(TAG)
	@echo "pushed $(IMAGE):$(TAG): set it under images: in deploy/k8s/overlays/production/kustomization.yaml"

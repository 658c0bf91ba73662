# Stackyard: `make` alone lists the targets.  Everything runs from .venv,
# which `make .venv` creates from the pinned files in requirements/.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TOX := $(BIN)/tox
STAMP := $(VENV)/.installed
REQS := $(wildcard requirements/*.txt tools/yard/pyproject.toml)

.DEFAULT_GOAL := help
.PHONY: help venv lint unit build model test demo func lock clean constraints \
	model-bundle model-ha bench-yard bench-restarts bench-hooks bench-scale bench-yard-scale bench-mirror bench-collector bench-ci \
	bench-openstack-data

help: ## list the targets
	@echo "Stackyard make targets:"
	@grep -hE '^[a-z.-]+:.*## ' $(MAKEFILE_LIST) | \
	    awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): $(REQS)
	@command -v $(PYTHON) >/dev/null || { echo "ERROR $(PYTHON) not found"; exit 1; }
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || \
	    { echo "installing python3-venv"; apt-get install -y -q python3-venv >/dev/null; }
	@{ command -v cc && dpkg -s libc6-dev; } >/dev/null 2>&1 || ! command -v apt-get >/dev/null || \
	    { echo "installing gcc and libc6-dev (yard's native hook tool client)"; \
	      apt-get install -y -q gcc libc6-dev >/dev/null; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -c requirements/constraints.txt \
	    -r requirements/tools.txt
	@if [ -f tools/yard/pyproject.toml ]; then \
	    $(BIN)/pip install -q --disable-pip-version-check -c requirements/constraints.txt \
	    -e tools/yard; fi
	touch $(STAMP)

venv: $(STAMP) ## create .venv with the pinned tooling

lint: $(STAMP) ## flake8 over everything
	$(TOX) -e lint

unit: $(STAMP) ## unit tests (layers, interfaces, charms, yard)
	$(TOX) -e unit

build: $(STAMP) ## build every charm into build/<charm> (charm build, offline)
	$(TOX) -e build

model: build ## model tests: deploy built charms with yard on LXD
	$(TOX) -e model

test: lint unit model ## lint, unit and model tests (what CI runs)

model-bundle: build ## the ci-workers bundle end to end: a real job through the mirror, benchmarks into the collector
	$(TOX) -e model -- -m bundle tests/model/test_model_ci_bundle.py tests/model/test_model_ci_bench.py

model-ha: build ## the HA data tier: galera, rabbitmq, hacluster clusters in containers
	$(TOX) -e model -- -m ha tests/model

demo: build ## deploy the demo bundle locally with yard and show its status
	@bash tools/demo

func: build ## zaza functional tests against a real Juju controller
	$(TOX) -e func

bench-yard: build ## yard: settle time for 1/5/15 units, hooks run, per-hook overhead
	$(BIN)/python tools/bench/stackbench.py yard

bench-restarts: build ## rolling restart wall time and concurrency, 6/12 units x batch 1/2/4
	$(BIN)/python tools/bench/stackbench.py restarts

bench-hooks: build ## idle update-status hook vs a bare python3 start, in the machine
	$(BIN)/python tools/bench/stackbench.py hooks

bench-collector: $(STAMP) ## collector ingest runs/s, API and page times at 10k/100k runs
	$(BIN)/python tools/bench/collectorbench.py

bench-scale: build ## restart rolls of 100/300 units x batch 10/30, real hooks, no containers
	$(BIN)/python tools/bench/scalebench.py

bench-yard-scale: $(STAMP) ## yard's controller: hooks/s and CPU per hook at 60/100 units, pass times at 100/300
	$(BIN)/python tools/bench/yardscale.py

bench-mirror: build ## afs-mirror: cached vs static file (ab: req/s, MB/s), first vs cached latency
	$(BIN)/python tools/bench/stackbench.py mirror

bench-ci: build ## the ci-workers bundle: settle time, hooks per application, two builds
	$(BIN)/python tools/bench/stackbench.py ci

bench-openstack-data: build ## the HA data bundle: settle time and hooks, sysbench tx/s, AMQP msg/s, VIP failover
	$(BIN)/python tools/bench/stackbench.py openstack-data

lock: $(STAMP) ## re-resolve wheelhouses and rewrite each charm's build.lock
	WRITE_LOCK=1 $(TOX) -e build

constraints: ## re-pin requirements/constraints.txt from a fresh resolve
	rm -rf /tmp/stackyard-pin && $(PYTHON) -m venv /tmp/stackyard-pin
	/tmp/stackyard-pin/bin/pip install -q -r requirements/tools.txt -r requirements/func.txt
	{ echo "# Pins for every tool venv (make .venv and the tox envs). Regenerate with"; \
	  echo "# 'make constraints' after changing requirements/*.txt."; \
	  /tmp/stackyard-pin/bin/pip freeze | grep -v -E '^(-e|pip==|setuptools==)'; } \
	  > requirements/constraints.txt

clean: ## remove build/, .tox/ and .venv/
	rm -rf build .tox $(VENV)

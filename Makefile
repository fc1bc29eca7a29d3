SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CLUSTER ?= kwok
export CLUSTER
BENCH_ARGS ?=
CHAOS_ARGS ?=

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/python: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

.PHONY: venv
venv: $(BIN)/python ## Create .venv with the project and its dev tools

.PHONY: k8s-bin
k8s-bin: ## Build (or reuse) the pinned Kubernetes, etcd and kwok binaries
	@hack/k8s-bin.sh

.PHONY: promtool
promtool: ## Build (or reuse) the pinned promtool, which checks and tests the chart's alerts
	@hack/go-tool.sh promtool

.PHONY: krew-bin
krew-bin: ## Build (or reuse) the pinned krew, which tests the plugin's manifest
	@hack/go-tool.sh krew

.PHONY: krew
krew: ## Build kubectl rerun for krew: dist/krew/ archives (linux, darwin; amd64, arm64) and rerun.yaml
	@hack/krew.sh

.PHONY: cluster
cluster: ## Start the local cluster (CLUSTER=kwok default, or kind); idempotent
	@hack/cluster.sh up

.PHONY: cluster-down
cluster-down: ## Stop the local cluster and remove its state
	@hack/cluster.sh down

.PHONY: cluster-status
cluster-status: ## Say whether the local cluster runs; nodes and versions
	@hack/cluster.sh status

.PHONY: crds
crds: venv ## Regenerate crds/ from the pydantic models (CI checks for drift)
	$(BIN)/python -m rerunnable.tools.crdgen

.PHONY: run
run: venv ## Run the operator in the foreground against .cluster/kubeconfig
	KUBECONFIG=$(CURDIR)/.cluster/kubeconfig $(BIN)/python -m rerunnable

.PHONY: lint
lint: venv ## ruff (lint and format check) and import-linter
	$(BIN)/ruff check operator tests bench chaos
	$(BIN)/ruff format --check operator tests bench chaos
	$(BIN)/lint-imports

.PHONY: typecheck
typecheck: venv ## mypy --strict
	$(BIN)/mypy --strict

.PHONY: test-unit
test-unit: venv ## Unit tests (no cluster)
	$(BIN)/pytest tests/unit

.PHONY: test-chart
test-chart: venv ## Chart unit tests: helm template and lint of helm/rerunnable (no cluster)
	$(BIN)/pytest tests/chart

.PHONY: test-packaging
test-packaging: venv ## The krew plugin: this machine's archive and manifest built, checked, run and installed
	$(BIN)/pytest tests/packaging

.PHONY: test-e2e
test-e2e: venv ## End-to-end tests on the local cluster (started if needed), but the slow ones
	$(BIN)/pytest tests/e2e -m "not slow"

.PHONY: test-slow
test-slow: venv ## The end-to-end scenarios of a minute or more (marked slow; CI runs them after make test)
	$(BIN)/pytest tests/e2e -m slow

.PHONY: test
test: lint typecheck test-unit test-chart test-packaging test-e2e ## Lint, types, unit, chart, packaging and e2e tests (CI adds make test-slow)

.PHONY: bench
bench: venv ## Benchmark against CronJob on its own cluster (not in `make test`; BENCH_ARGS=--help)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

.PHONY: demo
demo: venv cluster ## Local cluster, CRDs, the operator, examples/ and a manual run
	@hack/demo.sh

.PHONY: fmt
fmt: venv ## Format the code
	$(BIN)/ruff format operator tests bench chaos
	$(BIN)/ruff check --fix operator tests bench chaos

.PHONY: clean
clean: ## Remove the venv and caches (not the binary cache in ~/.cache/rerunnable)
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache

.PHONY: chaos
chaos: venv ## The chaos suite: faults injected into the real operator (~1.5 h; CHAOS_ARGS=--help)
	$(BIN)/python -m chaos.run $(CHAOS_ARGS)

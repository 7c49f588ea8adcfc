# secops-bot developer commands. Everything runs from .venv, created on first use.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast check lint fmt bench eval llm-local clean reliability

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, pinned: on these machines 2.13.0 is the CPU build; an unpinned torch pulls GBs of CUDA.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/secops-bot --data-dir .demo-data scan --alerts fixtures/alerts/demo-alerts.json \
		--trivy fixtures/trivy/trivy-k8s-cluster-report-kind.json --trivy fixtures/trivy/candidates/coredns-v1.11.1.json \
		--repo fixtures/gitops --cmdb fixtures/cmdb.yaml --since all

test: $(STAMP)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/pytest -q

test-fast: $(STAMP)
	$(BIN)/pytest -q -m 'not integration and not slow and not live'

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy bot agents tools

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: lint test

# The whole reliability harness (fuzzing, kill -9, disk full) with more iterations than make test runs.
reliability: $(STAMP)
	SECOPS_RELIABILITY=full HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/pytest -q tests/reliability

bench: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m tests.bench.run_all

clean:
	rm -rf $(VENV) .demo-data .pytest_cache .mypy_cache .ruff_cache

eval: $(STAMP)
	$(BIN)/python -m tests.bench.eval_llm

llm-local: $(STAMP)
	$(BIN)/python -m tests.bench.llm_local
	@echo "serve it: .venv-llm/bin/python -m tests.bench.llama_shim  (then: OLLAMA_HOST=http://127.0.0.1:11435 make eval)"

# Pictures of every Slack message type for docs/slack.md, from the real Block Kit (headless Chromium;
# skipped with a message where it is absent). Re-run after changing bot/slack/blocks.py.
.PHONY: slack-preview
slack-preview: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m tools.slack_preview --out docs/slack-preview

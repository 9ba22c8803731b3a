# Every target sets itself up from nothing: the first run creates .venv (and .tools/checkov).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHECKOV_VENV := .tools/checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
PYTEST_ARGS ?=
PORT ?= 3000

.PHONY: help venv test soak lint typecheck unit pytest test-apply test-browser chromium screenshot run openapi bench build checkov cfn-lint circleci-check tools clean

help:
	@echo "make run    start the whole system locally (http://127.0.0.1:$(PORT))"
	@echo "make test   lint, type-check and run every test"
	@echo "make soak   the lifecycle model with many more sequences of moves (SOAK_EXAMPLES=2000)"
	@echo "make test-apply  the local CI's terraform apply and drift against the local AWS (minutes)"
	@echo "make test-browser  the local Slack and PR pages in headless Chromium (installs Debian's chromium as root)"
	@echo "make openapi  rewrite docs/openapi.json, the published OpenAPI document of the HTTP API"
	@echo "make bench  measure the ack path, cold starts, GitHub calls and end-to-end throughput"
	@echo "make build  build the SAM functions and print their artifact sizes"

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -e .
	touch $@

venv: $(STAMP)

# checkov pins its own dependency tree; isolating it keeps the runtime libraries current.
$(CHECKOV_STAMP): requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

# The SAM CLI pins its own dependency tree too; only `make build` (and CI's deploy) needs it.
SAM_VENV := .tools/sam
SAM_STAMP := $(SAM_VENV)/.installed
$(SAM_STAMP): requirements-sam.txt
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-sam.txt
	touch $@

tools: $(STAMP) $(CHECKOV_STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy backend bot local tests bench

pytest: tools
	CHECKOV_BIN=$(abspath $(CHECKOV)) $(BIN)/python -m pytest -n 2 --dist worksteal -m "not browser and not terraform_apply" $(PYTEST_ARGS)

# Real applies against the local AWS take minutes each (the AWS provider's own waits), so they
# run here, after `make test`, not inside its budget.
test-apply: $(STAMP)
	$(BIN)/python -m pytest -m terraform_apply tests/e2e tests/integration/terraform/test_moved.py $(PYTEST_ARGS)

# Debian's chromium, for Playwright to drive (it never downloads a browser of its own here).
# Without root or apt-get nothing is installed and the browser tests say why they skip. The emoji
# font lets the local Slack page's emoji show as emoji (the browser tests and the screenshot).
EMOJI_FONT := /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
chromium:
	@if command -v chromium >/dev/null 2>&1 && [ -f $(EMOJI_FONT) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's chromium and an emoji font for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null) \
	    || echo "could not install chromium; the browser tests will skip (or fail under REQUIRE_BROWSER_TESTS=1)"; \
	else echo "chromium is missing and this is not root with apt-get: the browser tests will skip"; fi

# One stack and one browser for the whole session, so not split across xdist workers.
test-browser: $(STAMP) chromium
	$(BIN)/python -m pytest -m browser tests/browser $(PYTEST_ARGS)

# The README's picture of the local Slack page (docs/local-slack.png), taken by Playwright.
screenshot: $(STAMP) chromium
	$(BIN)/python -m tests.browser.screenshot docs/local-slack.png

test: lint typecheck pytest

# The lifecycle model (every actor's moves, in any order) with many more sequences than make test
# runs: SOAK_EXAMPLES of up to 40 moves each (2000: about half an hour on 2 cores).
SOAK_EXAMPLES ?= 2000
soak: $(STAMP)
	$(BIN)/python -m pytest -p no:xdist -q -p no:logging tests/integration/lifecycle/test_lifecycle_model.py \
	  --soak-examples=$(SOAK_EXAMPLES) --hypothesis-show-statistics

run: $(STAMP)
	PORT=$(PORT) $(BIN)/python -m local

# docs/openapi.json: the document the API serves at /openapi.json, published (a test keeps them equal).
openapi: $(STAMP)
	$(BIN)/python -m local.publish_openapi docs/openapi.json

bench: tools $(SAM_STAMP)
	SAM_CLI_TELEMETRY=0 $(BIN)/python -m bench

build: $(STAMP) $(SAM_STAMP)
	SAM_CLI_TELEMETRY=0 $(BIN)/python -m local.build

checkov: $(CHECKOV_STAMP)
	$(CHECKOV) --quiet --compact -d terraform --framework terraform
	$(CHECKOV) --quiet --compact -f sam/template.yaml --framework cloudformation
	$(CHECKOV) --quiet --compact -f bootstrap/ci-roles.yaml --framework cloudformation

cfn-lint: $(STAMP)
	$(BIN)/cfn-lint sam/template.yaml bootstrap/ci-roles.yaml

circleci-check: $(STAMP)
	$(BIN)/check-jsonschema --builtin-schema vendor.circle-ci .circleci/config.yml .circleci/continue_config.yml

clean:
	rm -rf $(VENV) .tools .local .aws-sam .pytest_cache .mypy_cache .ruff_cache

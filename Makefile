# Listening Post — the two commands: `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
VENDOR := queue_ui/static/vendor
VENDOR_STAMP := $(VENDOR)/.built-$(shell cat package.json | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=

.PHONY: demo test bench lint mutation setup assets clean

setup: $(STAMP) $(VENDOR_STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

# The NHS design system and htmx come from npm and are copied into the static folder (not committed).
$(VENDOR_STAMP): package.json
	npm install --no-audit --no-fund --silent
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/nhsuk $(VENDOR)/htmx
	cp node_modules/nhsuk-frontend/dist/nhsuk/nhsuk-frontend.min.js $(VENDOR)/nhsuk/
	# The Frutiger @font-face rules load from assets.nhs.uk: the CSP allows only our own origin, so drop them (Arial is the fallback).
	sed -E 's/@font-face\{[^}]*\}//g' node_modules/nhsuk-frontend/dist/nhsuk/nhsuk-frontend.min.css > $(VENDOR)/nhsuk/nhsuk-frontend.min.css
	cp -r node_modules/nhsuk-frontend/dist/nhsuk/assets $(VENDOR)/nhsuk/assets
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx/
	touch $@

assets: $(VENDOR_STAMP)

demo: setup
	$(BIN)/listening-post demo

# Exit code 5 means pytest collected no tests: that is a failure here, never a pass.
test: setup
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "no tests were collected: failing"; exit 1; fi; exit $$rc

bench: setup
	@[ -n "$(BENCH_DATA)" ] || echo "BENCH_DATA is not set: accuracy benchmarks will skip (make bench BENCH_DATA=../shared/data)"
	BENCH_DATA=$(BENCH_DATA) $(BIN)/python -m bench

lint: setup
	$(BIN)/ruff check listening_post listener connectors triage queue_ui tests bench
	$(BIN)/mypy

# How many changed copies of the crisis and spike detectors the tests catch (mutmut; slow: not part of `make test`).
mutation: setup
	rm -rf mutants
	$(BIN)/mutmut run --max-children 2 > /dev/null || true
	$(BIN)/mutmut export-cicd-stats > /dev/null
	$(BIN)/python tests/mutation_score.py

clean:
	rm -rf $(VENV) node_modules $(VENDOR) .pytest_cache mutants

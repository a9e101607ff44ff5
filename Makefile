# icetally — the two set-up commands are `make demo` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
SHARED ?= ../shared/data
DATA   ?=
DB     ?= icetally.duckdb
PYTEST_ARGS ?=

.PHONY: demo demo-real test browser bench eval lint fmt clean venv

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=python3.x (3.11 or newer)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,spark]'
	@touch $(STAMP)

venv: $(STAMP)

# The SYNTHETIC demo: calibrated synthetic release -> ingest -> surges -> claims -> report.
# `make demo ROWS=1200000` for a longer history (a second workbook sheet past ~1.05M rows).
DEMO_DIR ?= icetally-demo
ROWS     ?=
demo: $(STAMP)
	$(PY) scripts/demo.py --dir "$(DEMO_DIR)" $(if $(ROWS),--rows $(ROWS),)

# The real-data demo: ingest ../shared/data (or DATA="files...") and count by AOR.
demo-real: $(STAMP)
	$(PY) scripts/demo_real.py --db "$(DB)" $(if $(DATA),--data "$(DATA)",--shared "$(SHARED)")

# Debian's Chromium for the browser tests (skipped, with the reason, if it cannot be installed).
browser:
	@sh scripts/setup_browser.sh

test: $(STAMP) browser
	$(PY) -m pytest -q $(PYTEST_ARGS)

bench: $(STAMP)
	@mkdir -p bench-results
	$(PY) -m benchmarks.run --out bench-results

eval: $(STAMP)
	@mkdir -p bench-results
	$(PY) -m benchmarks.surge_eval --out bench-results/surge-eval.json
	$(PY) -m benchmarks.campaign_eval --out bench-results/campaign-eval.json
	$(PY) -m benchmarks.claims_eval --out bench-results/claims-eval.json

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests scripts benchmarks
	$(VENV)/bin/ruff format --check src tests scripts benchmarks

fmt: $(STAMP)
	$(VENV)/bin/ruff check --fix src tests scripts benchmarks
	$(VENV)/bin/ruff format src tests scripts benchmarks

clean:
	rm -rf $(VENV) bench-results .pytest_cache .ruff_cache *.duckdb icetally-demo

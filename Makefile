# leadnb: the two README commands are `make report` and `make test`.
# Everything is installed into .venv from the package index; nothing else is needed but Python 3.11.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
DEMO := data/demo
PARAMS ?= params/demo.yaml
PYTEST_ARGS ?=

.PHONY: report test lab notebooks bench bench-large bench-quick demo-data lint format clean venv screenshots

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=/path/to/python3.11 ...'"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# bytecode of the package, as pip writes for a regular install (an editable one does not, and with
# PYTHONDONTWRITEBYTECODE set Python never caches it): without it every process of a run (the
# runner, the zygote, two workers) compiles leadnb's modules again, about a CPU second each
COMPILE := $(PY) -m compileall -q leadnb >/dev/null

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --no-warn-script-location -e ".[test,postgres,dask,bench]"
	$(COMPILE)
	$(PY) -m ipykernel install --sys-prefix --name leadnb --display-name "leadnb (Python 3.11)" >/dev/null
	@touch $(STAMP)

venv: $(STAMP)

# rebuilt when the generator changes: an old checkout's demo data would not match the goldens
$(DEMO)/leads.csv: $(STAMP) leadnb/data/demo.py
	$(BIN)/leadnb sample --out $(DEMO)

demo-data: $(DEMO)/leads.csv

report: $(STAMP) demo-data
	@$(COMPILE)
	$(BIN)/leadnb run $(PARAMS) --jobs 2

test: $(STAMP) demo-data
	$(BIN)/ruff check leadnb tests benchmarks
	$(BIN)/ruff format --check leadnb tests benchmarks
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)
	$(BIN)/pytest -q --doctest-modules leadnb
	$(PY) -m leadnb.run.goldens --check notebooks
	$(BIN)/pytest -n 2 --dist loadfile --nbval-lax --nbval-kernel-name leadnb --nbval-sanitize-with notebooks/sanitize.cfg notebooks

lab: $(STAMP) demo-data
	$(BIN)/jupyter lab notebooks

notebooks: $(STAMP) demo-data
	$(PY) -m leadnb.run.goldens notebooks

# bench: leadnb against DuckDB and pandas at 1M leads, then the scaling table (the full run and its
# peak memory at 20,000, 200,000 and 1,000,000 leads), then the experiment simulations at full
# size (sequential false positives and coverage; adjustment, clusters, segments). bench-large adds
# 5,000,000 leads to the table and scores and dates them on a two-worker Dask LocalCluster (about 12 GB to write the
# sample once; each step says so and stops when the memory is not there).
bench: $(STAMP) demo-data
	@$(COMPILE)
	$(PY) -m benchmarks.run
	$(PY) -m benchmarks.scaling
	$(PY) -m benchmarks.sequential_sim
	$(PY) -m benchmarks.adjust_sim

bench-large: $(STAMP) demo-data
	@$(COMPILE)
	$(PY) -m benchmarks.scaling --large
	$(PY) -m benchmarks.dask_large

bench-quick: $(STAMP) demo-data
	$(PY) -m benchmarks.run --quick

# The README's two screenshots (first screen at 1400 px, headless Chromium), from a fresh demo run:
# the run index and the scoring report. Committed once; `make screenshots` refreshes them.
CHROMIUM ?= chromium
SHOTS := docs/screenshots
SHOT_FLAGS := --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
	--force-device-scale-factor=1 --disable-background-networking --disable-component-update \
	--host-resolver-rules="MAP * ~NOTFOUND" --window-size=1400,900

screenshots: report
	@command -v $(CHROMIUM) >/dev/null 2>&1 || { echo "error: $(CHROMIUM) not found; install chromium or run 'make CHROMIUM=/path/to/chromium screenshots'"; exit 2; }
	@mkdir -p $(SHOTS)
	@run="$$(cd outputs/latest && pwd -P)"; profile="$$(mktemp -d)"; \
	$(CHROMIUM) $(SHOT_FLAGS) --user-data-dir="$$profile/index" --screenshot="$(CURDIR)/$(SHOTS)/index.png" \
		"file://$$run/index.html" 2>/dev/null && \
	$(CHROMIUM) $(SHOT_FLAGS) --user-data-dir="$$profile/report" --screenshot="$(CURDIR)/$(SHOTS)/report.png" \
		"file://$$run/scoring_calibration/scoring_calibration.html" 2>/dev/null; \
	status=$$?; rm -rf "$$profile"; test $$status -eq 0 && ls -l $(SHOTS)/index.png $(SHOTS)/report.png

lint: $(STAMP)
	$(BIN)/ruff check leadnb tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format leadnb tests benchmarks
	$(BIN)/ruff check --fix leadnb tests benchmarks

clean:
	rm -rf $(VENV) $(DEMO) .bench outputs/*/ outputs/.tmp-* outputs/index.html outputs/latest outputs/latest.html outputs/.lock

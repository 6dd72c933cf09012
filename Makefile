# The one entry point. `make report` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STUDY ?= data/synthetic/default
OUT ?= reports/demo
JOBS ?=

.PHONY: venv report test lab bench validate clean browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	$(BIN)/python -m ipykernel install --prefix $(VENV) --name python3 > /dev/null
	touch $(STAMP)

venv: $(STAMP)

report: $(STAMP)
	$(BIN)/stseval demo --study $(STUDY) --out $(OUT) $(if $(JOBS),--jobs $(JOBS))

# The browser test renders the funder report in Debian's chromium (driven by playwright).
browser:
	@command -v chromium >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1 || \
	  { SUDO=$$( [ "$$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && echo sudo ); \
	    $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium > /dev/null; }

test: $(STAMP) browser
	$(BIN)/python -m pytest -n 2

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

bench: $(STAMP)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

validate: $(STAMP)
	$(BIN)/python validation/recovery.py

clean:
	rm -rf $(VENV) reports .pytest_cache

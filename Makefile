# The one entry point. `make report` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STUDY ?= data/synthetic/default
OUT ?= reports/demo
JOBS ?=
PORT ?= 8888

.PHONY: venv report test test-all lab bench validate clean browser

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

# xdist groups (nbval, pipeline) run on one worker each: --dist loadgroup honours them.
test: $(STAMP) browser
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not recovery and not e2e"

# Everything, including tests a faster `make test` may leave out (CI runs this).
test-all: $(STAMP) browser
	$(BIN)/python -m pytest -n 2 --dist loadgroup

# JupyterLab on a git-ignored working copy (workspace/, copied from the packaged notebooks when
# absent), so running the notebooks never dirties the tree. No browser; as root it passes
# --allow-root. `make lab PORT=9999` for another port.
lab: $(STAMP)
	$(BIN)/stseval lab --dir workspace --port $(PORT)

bench: $(STAMP)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

validate: $(STAMP)
	$(BIN)/python validation/recovery.py

clean:
	rm -rf $(VENV) reports .pytest_cache

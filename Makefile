# Two commands for a fresh Debian/Ubuntu machine: `make demo` and `make test`.
# Each sets everything up (system packages, .venv/, pinned Python packages) idempotently first.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
DEMO_ROOT ?= $(CURDIR)/demo-output
SAMPLE := samples/city-bikes.mp4
SAMPLE_ARTICLE := samples/article/space-exhibition.md
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 180

.PHONY: setup demo test test-all test-transformers lint bench bench-all stack stack-down stack-status sample lock clean

setup:
	@infra/bootstrap.sh all,dev

demo: setup
	@NEWSROOM_LOCAL_ROOT=$(DEMO_ROOT) $(BIN)/newsroom models verify
	@NEWSROOM_LOCAL_ROOT=$(DEMO_ROOT) $(BIN)/newsroom run $(SAMPLE) --target-s 15 --out $(DEMO_ROOT)/package
	@NEWSROOM_LOCAL_ROOT=$(DEMO_ROOT) $(BIN)/newsroom article $(SAMPLE_ARTICLE) --target-s 45 --out $(DEMO_ROOT)/article
	@echo
	@echo "Demo outputs: $(DEMO_ROOT)/package/ (the footage story), $(DEMO_ROOT)/article/ (the article video) and"
	@echo "$(DEMO_ROOT)/stories/ (every asset + manifest.json)."

test: setup
	@$(BIN)/ruff check newsroom tasks flows tests bench samples
	@$(BIN)/python -m pytest -m "not slow" -p no:cacheprovider --durations=30

test-all: setup
	@$(BIN)/python -m pytest -p no:cacheprovider

# The optional transformers LLM backend (installs torch: the local CPU build on these machines).
test-transformers: setup
	@$(BIN)/python -m pip install -q -c requirements.lock -e ".[transformers]"
	@$(BIN)/python -m pytest -p no:cacheprovider tests/test_llm.py -k transformers

lint: setup
	@$(BIN)/ruff check newsroom tasks flows tests bench samples

# bench/RESULTS.md: one table per area, machine and commit stamped (bench-all adds the package flow and the
# stack load bench: tens of minutes on 2 cores).
bench: setup
	@$(BIN)/python bench/results.py

bench-all: setup
	@$(BIN)/python bench/results.py --all

# The whole system on this machine (S3, Prefect server, cpu + heavy workers, webhook) under ./stack/
# (NEWSROOM_STACK_DIR); returns once every service is healthy. `make stack-down` stops it, leaving nothing running.
stack: setup
	@$(BIN)/newsroom stack up

stack-down:
	@$(BIN)/newsroom stack down

stack-status:
	@$(BIN)/newsroom stack status

sample: setup
	@$(BIN)/python samples/make_sample.py

# Re-pin every installed package after changing dependencies in pyproject.toml.
lock:
	@$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e ' > requirements.lock

clean:
	rm -rf $(VENV) $(DEMO_ROOT) .pytest_cache

# The two commands the README promises: `make demo` and `make test`. Everything else is a step of them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help setup build demo hub-demo test lint testbed-up testbed-down testbed-reset testbed-scale testbed-check bench soak screenshots clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-15s %s\n", $$1, $$2}'

setup: ## install everything a fresh machine needs (idempotent; WITH_UI=0 skips Chromium and ui-tests)
	bash scripts/setup.sh

build: setup ## rebuild the frontend into the Python package
	npm run build

demo: ## set up, start the Rucio testbed and JupyterLab with the extension on DEMO_PORT (Ctrl-C stops both)
	bash scripts/demo.sh

hub-demo: ## operator preview: the testbed and JupyterHub with users alice and bob (Ctrl-C stops it)
	WITH_UI=0 bash scripts/setup.sh
	bash scripts/hub-demo.sh

test: ## lint, jest, pytest (unit + testbed integration) and Chromium UI tests; last line "N passed, N failed"
	bash scripts/test.sh

lint: setup ## eslint, prettier, ruff
	npm run lint:check
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

testbed-up: ## start the local Rucio testbed in the background (idempotent)
	bash testbed/up.sh

testbed-down: ## stop the testbed
	bash testbed/down.sh

testbed-reset: ## stop the testbed and delete its database, storage and credentials
	bash testbed/reset.sh

testbed-scale: testbed-up ## add demo:scale-1m (10 datasets x 100,000 catalogue-only files) for the 1M benchmarks; idempotent
	bash testbed/scale.sh

testbed-check: testbed-up ## acceptance: alice stages demo:lofar-obs-sb000 to QOS=FAST&site=HUB, checks, releases
	bash testbed/check.sh

bench: setup testbed-up testbed-scale ## run the benchmarks (1M files included) and rewrite the table in bench/README.md
	.venv/bin/python bench/run.py

soak: setup testbed-up ## 30 minutes through JupyterHub with 60 s tokens, 0 errors wanted; rewrites the soak table in bench/README.md
	.venv/bin/python bench/hub_soak.py --minutes $${SOAK_MINUTES:-30}

screenshots: setup testbed-up ## refresh the README's images in docs/images/
	bash scripts/screenshots.sh

clean: ## remove build output (keeps virtualenvs and the testbed)
	rm -rf lib tsconfig.tsbuildinfo python-shim/jupyterlab_datalake/labextension test-results

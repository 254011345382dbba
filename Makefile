# A thin wrapper on Linux: `python -m deskhand …` does the work on every OS (deskhand/__main__.py).
PYTHON ?= python3

.PHONY: run test check format test-portable system-packages services bench clean

run:
	$(PYTHON) -m deskhand run

# Installs what the tests need, runs the checks (ruff, mypy for Linux, Windows and macOS, the
# import-time check), the whole suite, then the `scaled` tests on PostgreSQL and Redis.
test:
	$(PYTHON) -m deskhand test

check:
	$(PYTHON) -m deskhand check

format:
	$(PYTHON) -m deskhand format

# What the Windows and macOS CI runs (marker `portable`).
test-portable:
	$(PYTHON) -m deskhand test --portable

system-packages:
	scripts/system-packages.sh

services:
	scripts/services.sh

bench:
	$(PYTHON) -m deskhand bench

clean:
	rm -rf .venv data/test-* .pytest_cache data/.mypy_cache

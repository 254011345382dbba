# A thin wrapper on Linux: `python -m deskhand …` does the work on every OS (deskhand/__main__.py).
PYTHON ?= python3
# `make run PORT=3400 HOST=0.0.0.0` serves elsewhere (a HOST other than loopback also needs
# DESKHAND_ALLOWED_HOSTS; see README, "Security").
PORT ?= 3333
HOST ?= 127.0.0.1

.PHONY: run test check format test-portable fuzz system-packages services bench clean

run:
	$(PYTHON) -m deskhand run --host $(HOST) --port $(PORT)

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

# The API against its own schema for ten minutes, every schemathesis phase (examples, coverage,
# fuzzing, stateful links) and every check, on a live server (the suite runs the same for a minute).
# FUZZ_SECONDS and FUZZ_SEED change the length and the seed.
FUZZ_SECONDS ?= 600
FUZZ_SEED ?= 20260301
fuzz:
	$(PYTHON) -m deskhand fuzz --seconds $(FUZZ_SECONDS) --seed $(FUZZ_SEED)

system-packages:
	scripts/system-packages.sh

services:
	scripts/services.sh

bench:
	$(PYTHON) -m deskhand bench

clean:
	rm -rf .venv data/test-* .pytest_cache data/.mypy_cache

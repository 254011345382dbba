# The two commands of the README: `make run` and `make test`. Everything else here serves them.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
# `make run PORT=3400 HOST=0.0.0.0` serves elsewhere (a HOST other than loopback also needs
# DESKHAND_ALLOWED_HOSTS; see README, "Security").
PORT ?= 3333
HOST ?= 127.0.0.1

# The scaled mode's services (started by scripts/services.sh when they are not running).
SCALED_ENV := DATABASE_URL=postgres://postgres@127.0.0.1:5432/test CELERY_BROKER_URL=redis://127.0.0.1:6379/14 DESKHAND_REDIS_URL=redis://127.0.0.1:6379/15

.PHONY: run test check format test-default test-scaled install install-dev system-packages services bench clean

run: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-dev system-packages
	$(MAKE) check
	$(MAKE) test-default
	$(MAKE) test-scaled

# Lint and format check over the whole tree; any finding fails `make test`. `make format` fixes
# what can be fixed mechanically.
check: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The whole suite on the defaults: SQLite and the file broker, nothing else running.
test-default: $(VENV)/.installed-dev
	$(PY) -m pytest

# The database, task and stream tests again, on PostgreSQL and Redis.
test-scaled: $(VENV)/.installed-dev
	scripts/services.sh
	$(SCALED_ENV) $(PY) -m pytest -m scaled -p no:randomly

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(VENV)/.installed: requirements.txt
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Deskhand needs Python 3.11 or newer"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install -r requirements.txt
	# pyautogui's dependencies bring an old fork of Xlib that overwrites python-xlib's files.
	$(PIP) install --force-reinstall --no-deps python-xlib==0.33
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PIP) install -r requirements-dev.txt
	$(PIP) install --force-reinstall --no-deps python-xlib==0.33
	touch $@

system-packages:
	scripts/system-packages.sh

bench: $(VENV)/.installed-dev system-packages
	$(PY) -m bench

clean:
	rm -rf $(VENV) data/test-* .pytest_cache

# The two commands a newcomer needs:  make run   and   make test
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: run test install lock audit lint migrate seed worker beat web bench clean messages

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Installs exactly the locked set (hashes checked), then the project itself without re-resolving.
$(STAMP): pyproject.toml requirements.lock | $(PY)
	$(PIP) install --quiet --require-hashes -r requirements.lock
	$(PIP) install --quiet --no-deps -e .
	touch $(STAMP)

## the translations (locale/<lang>/LC_MESSAGES/django.po) compiled to .mo with Babel (no GNU gettext needed)
MO_FILES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/django.po))
locale/%/LC_MESSAGES/django.mo: locale/%/LC_MESSAGES/django.po | $(STAMP)
	$(VENV)/bin/pybabel -q compile --domain django --directory locale --locale $*

## make messages: compile the translations (part of install); after marking new strings, extract them with
## `DEBUG=1 .venv/bin/python manage.py makemessages -l de --no-location -i ".venv/*" -i "tests/*" -i "bench/*"`
messages: $(MO_FILES)

install: $(STAMP) $(MO_FILES)

## make lock: re-resolve requirements.lock after a change to pyproject.toml (keeps existing pins where they still fit)
lock: install
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		--generate-hashes --quiet -o requirements.lock

## make audit: known advisories in the locked set (PyPI's advisory data)
audit: install
	$(VENV)/bin/pip-audit --requirement requirements.lock --require-hashes --disable-pip --progress-spinner off

## make run: install, migrate, load demo data, start web + worker + beat on http://127.0.0.1:8000
run: install
	PYTHON=$(PY) bash scripts/dev-env.sh
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(PY) manage.py seed_demo
	DEBUG=$${DEBUG:-1} PYTHON=$(PY) bash scripts/run-dev.sh

## make test: the whole suite (PostgreSQL/Redis when DATABASE_URL/CELERY_BROKER_URL say so)
test: install
	$(PY) -m pytest -q -n $${PYTEST_WORKERS:-2} --dist loadgroup $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .

migrate: install
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate --noinput

seed: install
	DEBUG=$${DEBUG:-1} $(PY) manage.py seed_demo

bench: install
	$(PY) bench/inventory.py && $(PY) bench/order_to_cash.py && $(PY) bench/posting.py && $(PY) bench/events.py && $(PY) bench/reconcile.py

clean:
	rm -rf var db.sqlite3* .pytest_cache

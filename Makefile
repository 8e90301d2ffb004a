# The two commands: `make run` and `make test`. Both need only Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_ENV := HUB_DEBUG=1
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format install setup worker beat bench clean fuzz soak

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(STAMP)

## Set up, migrate, load units and demo data (idempotent), print the login, serve on SQLite.
## The login is the last thing printed before the server's own few lines (runserver's
## "development server" warning is left out: `make run` is the local demo by definition).
setup: $(STAMP)
	$(DEV_ENV) $(BIN)/python manage.py migrate --noinput
	$(DEV_ENV) $(BIN)/python manage.py load_units
	$(DEV_ENV) $(BIN)/python manage.py seed_demo
	@$(DEV_ENV) $(BIN)/python manage.py create_demo_login --url http://$(HOST):$(PORT)/admin/

## `make run` starts the demo's planning receiver (demo/receiver.py) on RECEIVER_PORT first, so
## the seed's supply exceptions reach it as signed webhooks, then sets up and serves; the
## receiver stops with the server. Its page, http://127.0.0.1:8001/, lists what it got. There is
## no beat: `deliver_webhooks --every 10` stands in for its deliver-webhooks, so a delivery the
## receiver missed while down is retried and arrives once it is back.
RECEIVER_PORT ?= 8001
DEMO_ENV := $(DEV_ENV) HUB_WEBHOOK_ALLOW_PRIVATE=1 \
	HUB_DEMO_RECEIVER_URL=http://$(HOST):$(RECEIVER_PORT)/
run: $(STAMP)
	@$(DEMO_ENV) $(BIN)/python manage.py demo_receiver --host $(HOST) --port $(RECEIVER_PORT) & \
	receiver=$$!; trap 'kill $$receiver $$retries 2>/dev/null' EXIT; \
	$(DEMO_ENV) $(BIN)/python manage.py demo_receiver --host $(HOST) --port $(RECEIVER_PORT) --wait && \
	$(MAKE) --no-print-directory setup DEV_ENV="$(DEMO_ENV)" && \
	{ $(DEMO_ENV) $(BIN)/python manage.py deliver_webhooks --every 10 & retries=$$!; } && \
	$(DEMO_ENV) DJANGO_RUNSERVER_HIDE_WARNING=true $(BIN)/python manage.py runserver $(HOST):$(PORT)

## Lint and the whole test suite, in a process per core (pytest-xdist: each with a test database
## of its own; a test file's tests stay in one process). TEST_PROCESSES=0 runs it in this one.
TEST_PROCESSES ?= auto
test: $(STAMP) lint
	$(BIN)/pytest -n $(TEST_PROCESSES) --dist loadfile $(PYTEST_ARGS)

## API fuzzing with many more generated cases than `make test` sends (HUB_FUZZ_EXAMPLES per
## operation and generation mode; the suite uses 12).
fuzz: $(STAMP)
	HUB_FUZZ_EXAMPLES=$${HUB_FUZZ_EXAMPLES:-200} $(BIN)/pytest tests/hub/test_fuzz_api.py $(PYTEST_ARGS)

## The worker-kill test with the issue's 10,000 messages (`make test` sends 2,000); needs
## PostgreSQL and Redis (DATABASE_URL, CELERY_BROKER_URL). About 5 minutes on 2 quiet cores.
soak: $(STAMP)
	HUB_REQUIRE_SERVICES=1 HUB_KILL_TEST_MESSAGES=$${HUB_KILL_TEST_MESSAGES:-10000} \
		$(BIN)/pytest tests/integration/test_faults.py -k killed $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Benchmarks: each prints a table with its floors and writes JSON to var/bench/. They need
## PostgreSQL (BENCH_DATABASE_URL, default the local server) and take several minutes.
bench: $(STAMP)
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

## A Celery worker pool of the hub (needs DATABASE_URL and CELERY_BROKER_URL). It consumes the
## queues the settings name: HUB_VALIDATION_QUEUE (validation tasks), Celery's default queue
## "celery" (quarantine replays and bulk actions, SLA, retention) and HUB_IMPORT_QUEUE (import
## tasks); both settings are "celery" unless set. One pool per queue: set both everywhere,
## e.g. HUB_VALIDATION_QUEUE=validation HUB_IMPORT_QUEUE=import, and run `make worker
## POOL=validation` (validation and default queues) on some machines and `make worker
## POOL=import` on others (README, "Running against PostgreSQL and Redis"). CONCURRENCY:
## processes of the pool (default: one per core).
WORKER_QUEUES = import sys; from django.conf import settings as s; \
	pools = {"validation": [s.VALIDATION_QUEUE, "celery"], "import": [s.HUB_IMPORT_QUEUE]}; \
	wanted = sys.argv[1:] or list(pools); \
	bad = [p for p in wanted if p not in pools]; \
	sys.exit(f"POOL is validation or import, not {bad[0]!r}") if bad else None; \
	print(",".join(dict.fromkeys(q for p in wanted for q in pools[p])))
worker: $(STAMP)
	@queues=$$(DJANGO_SETTINGS_MODULE=hub.settings $(BIN)/python -c '$(WORKER_QUEUES)' $(POOL)) \
		&& echo "worker pool on the queue(s) $$queues" \
		&& exec $(BIN)/celery -A hub worker --loglevel=INFO -Q $$queues \
		$(if $(CONCURRENCY),--concurrency=$(CONCURRENCY))

## Celery beat: sends the periodic tasks (the sweeps of stuck messages, imports and bulk runs,
## retention, SLA marks) to the pools' queues. Run exactly one per deployment.
beat: $(STAMP)
	@mkdir -p var
	$(BIN)/celery -A hub beat --loglevel=INFO --schedule var/celerybeat-schedule

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache

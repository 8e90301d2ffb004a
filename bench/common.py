"""Helpers the benchmarks share: the PostgreSQL bench database (created and migrated on first
use), a marker saying which generated data set it holds, COPY loading, timing statistics, the
printed table and the JSON written to var/bench/.

A benchmark script does, in this order:

    url = common.database_url("hub_bench_something")
    common.setup(url)                      # before importing any model
    if not common.dataset_matches("something", params):
        ...generate, common.copy_rows(...)...
        common.mark_dataset("something", params)
    ...measure...
    sys.exit(common.finish("something", figures, checks))

Benchmarks print PASS or FAIL beside each target and exit 0 either way, so `make bench` runs
them all and prints every figure; BENCH_STRICT=1 makes a missed target exit 1.
"""

import http.client
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
OUTPUT_DIR = ROOT / "var" / "bench"

# Production-like settings for the bench process and the servers it starts: debug off (no
# query log kept in memory), no TLS redirect on loopback, quiet logs.
BENCH_SETTINGS = {
    "DJANGO_SETTINGS_MODULE": "hub.settings",
    "HUB_SECRET_KEY": "bench-only-not-a-secret",
    "HUB_ALLOWED_HOSTS": "127.0.0.1,localhost",
    "HUB_SECURE_SSL_REDIRECT": "0",
    "HUB_LOG_LEVEL": "WARNING",
}


def database_url(default_name):
    """BENCH_DATABASE_URL, or a database of this name on the local PostgreSQL."""
    return os.getenv("BENCH_DATABASE_URL") or f"postgres://postgres@127.0.0.1:5432/{default_name}"


def server_env(url):
    """The environment for this process and the servers it starts: the bench database and the
    settings above, unless the caller set them."""
    env = dict(os.environ)
    for name, value in BENCH_SETTINGS.items():
        env.setdefault(name, value)
    env["DATABASE_URL"] = url
    env.pop("HUB_DEBUG", None)
    return env


def setup(url):
    """Create the database if it is missing, point Django at it, set Django up and migrate."""
    sys.stdout.reconfigure(line_buffering=True)  # progress shows as it happens under make
    create_database(url)
    os.environ.update(server_env(url))
    os.environ.pop("HUB_DEBUG", None)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)


def create_database(url):
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        raise SystemExit(f"The benchmarks need PostgreSQL; BENCH_DATABASE_URL is {url!r}.")
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    try:
        with psycopg.connect(maintenance, autocommit=True, connect_timeout=5) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if not exists.fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.OperationalError as exc:
        raise SystemExit(f"Cannot reach PostgreSQL at {maintenance}: {exc}") from None


# --- generated data sets ----------------------------------------------------------------------


def _marker_table(cursor):
    cursor.execute(
        "CREATE TABLE IF NOT EXISTS bench_dataset "
        "(name text PRIMARY KEY, params jsonb NOT NULL, loaded_at timestamptz NOT NULL)"
    )


def dataset_matches(name, params):
    """True when the database holds the data set `name` generated with exactly `params`."""
    from django.db import connection

    with connection.cursor() as cursor:
        _marker_table(cursor)
        cursor.execute("SELECT params FROM bench_dataset WHERE name = %s", [name])
        row = cursor.fetchone()
    stored = row and (json.loads(row[0]) if isinstance(row[0], str) else row[0])
    return stored == params


def mark_dataset(name, params):
    from django.db import connection

    with connection.cursor() as cursor:
        _marker_table(cursor)
        cursor.execute(
            "INSERT INTO bench_dataset (name, params, loaded_at) VALUES (%s, %s, now()) "
            "ON CONFLICT (name) DO UPDATE SET params = EXCLUDED.params, loaded_at = now()",
            [name, json.dumps(params)],
        )


def forget_dataset(name):
    """Say the data set is gone (call before deleting or regenerating it)."""
    from django.db import connection

    with connection.cursor() as cursor:
        _marker_table(cursor)
        cursor.execute("DELETE FROM bench_dataset WHERE name = %s", [name])


def copy_rows(model, rows, columns):
    """COPY `rows` (tuples in the order of `columns`, model field names) into the model's
    table; every other column gets the field's default (now() for timestamps). Returns the
    number of rows."""
    from django.db import connection
    from django.utils import timezone

    fields = [f for f in model._meta.concrete_fields if not f.primary_key or f.name in columns]
    given = {name: position for position, name in enumerate(columns)}
    now = timezone.now()
    defaults = []
    for field in fields:
        if field.name in given:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            defaults.append(now)
        else:
            defaults.append(field.get_default())
    names = [f.column for f in fields if f.name in given]
    names += [f.column for f in fields if f.name not in given]
    order = [given[f.name] for f in fields if f.name in given]
    statement = f"COPY {model._meta.db_table} ({', '.join(names)}) FROM STDIN"
    count = 0
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row[i] for i in order] + defaults)
            count += 1
    return count


@contextmanager
def bulk_load(*models):
    """Drop the tables' secondary indexes and constraints for the load inside the block, then
    build them again: one build is far quicker than a million index updates and deferred
    foreign key checks. Exclusion constraints are not built again (a GiST exclusion index over
    a million rows takes a quarter of an hour here, and no read a benchmark makes uses one);
    their names are added to the list the block receives, for the report."""
    from django.db import connection

    skipped = []
    rebuild = []
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '256MB'")
        for model in models:
            table = model._meta.db_table
            cursor.execute(
                "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype <> 'p'",
                [table],
            )
            constraints = cursor.fetchall()
            cursor.execute(
                "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
                "JOIN pg_class i ON i.oid = x.indexrelid "
                "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)",
                [table],
            )
            indexes = cursor.fetchall()
            for name, kind, definition in constraints:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
                if kind == "x":
                    skipped.append(name)
                else:
                    rebuild.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            for name, definition in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
                rebuild.insert(0, definition)
    yield skipped
    with connection.cursor() as cursor:
        for statement in rebuild:
            cursor.execute(statement)


# --- measuring and reporting ----------------------------------------------------------------


def percentile(values, fraction):
    """Nearest-rank percentile of a list of numbers (0 < fraction <= 1)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def timed(function, repeat):
    """Run `function` `repeat` times; return (milliseconds of each run, the last result)."""
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append((time.perf_counter() - start) * 1000)
    return times, result


def check(name, value, target, higher_is_better=False, unit=""):
    """A target: {"target", "value", "floor", "pass"}, printed by finish()."""
    passed = value >= target if higher_is_better else value <= target
    return {
        "target": name,
        "value": round(value, 3),
        "floor": f"{'>=' if higher_is_better else '<='} {target}{unit}",
        "pass": bool(passed),
    }


def print_table(title, headers, rows):
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(str(h)), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]
    print(f"\n{title}")
    print("  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(value.ljust(w) for value, w in zip(row, widths, strict=True)))


def _cell(value):
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:,.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def write_results(name, payload):
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUTPUT_DIR / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path


def finish(name, figures, checks, extra=None):
    """Print the targets with PASS/FAIL, write var/bench/<name>.json, return the exit status
    (0, or 1 when BENCH_STRICT=1 and a target was missed)."""
    print_table(
        f"{name}: targets",
        ["target", "value", "floor", "result"],
        [(c["target"], c["value"], c["floor"], "PASS" if c["pass"] else "FAIL") for c in checks],
    )
    payload = {
        "benchmark": name,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "figures": figures,
        "targets": checks,
        **(extra or {}),
    }
    path = write_results(name, payload)
    print(f"\nwrote {path.relative_to(ROOT)}")
    missed = [c["target"] for c in checks if not c["pass"]]
    if missed and os.getenv("BENCH_STRICT") == "1":
        return 1
    return 0


# --- memory of serving processes -----------------------------------------------------------


def peak_memory_mib(pid):
    """A process's own peak resident memory (VmHWM from /proc/<pid>/status) in MiB: what it
    held at most, not a figure inherited over a fork (ru_maxrss of children is the largest
    child's). Read it while the process runs; NaN once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return float("nan")
    for row in status.splitlines():
        if row.startswith("VmHWM:"):
            return int(row.split()[1]) / 1024
    return float("nan")


def descendants(pid):
    """The ids of a process's children, their children and so on (a gunicorn master's
    workers, a prefork Celery worker's pool processes)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            children = [int(child) for child in task.read_text().split()]
        except OSError:
            continue
        for child in children:
            found += [child, *descendants(child)]
    return found


def serving_peaks_mib(pid):
    """{pid: VmHWM MiB} of the processes that do the work under `pid`: its descendants (the
    web server's workers, the Celery pool's processes), or the process itself when it has
    none (celery --pool=solo). The parent of a pool only forks and supervises."""
    serving = descendants(pid) or [pid]
    return {child: peak_memory_mib(child) for child in serving}


# --- a served hub ---------------------------------------------------------------------------


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(url, port, *arguments, env=None):
    """gunicorn (from this virtualenv) on 127.0.0.1:`port` against the database at `url` (in
    `env`, by default server_env(url)), with `arguments` (the application, workers, ...);
    returned once /healthz answers 200."""
    gunicorn = Path(sys.executable).parent / "gunicorn"
    command = [str(gunicorn), "--bind", f"127.0.0.1:{port}", "--log-level", "warning", *arguments]
    server = subprocess.Popen(command, cwd=ROOT, env=env or server_env(url), start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    stop_server(server)
    raise SystemExit("gunicorn did not answer /healthz within 30 s")


def start_celery_workers(env, queue, count, pool):
    """`count` `celery worker` processes of the hub consuming `queue`, each with `pool` (e.g.
    "--pool=solo", "--concurrency=1") and its log in var/bench/<queue>-worker-<n>.log;
    returned once every one says it is ready."""
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    workers = []
    for n in range(1, count + 1):
        log = OUTPUT_DIR / f"{queue}-worker-{n}.log"
        command = [
            *(sys.executable, "-m", "celery", "-A", "hub", "worker", pool),
            *("-Q", queue, "-n", f"bench{n}-{queue}@%h", "--loglevel=INFO"),
            *("--without-gossip", "--without-mingle", "--without-heartbeat"),
        ]
        with open(log, "wb") as output:
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        process.log = log
        workers.append(process)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if all(b"ready." in worker.log.read_bytes() for worker in workers):
            return workers
        check_alive(workers)
        time.sleep(0.2)
    stop_processes(workers)
    raise SystemExit("The workers did not start within 60 s.")


def check_alive(workers):
    """SystemExit with its log's end when a worker started by start_celery_workers exited."""
    for worker in workers:
        if worker.poll() is not None:
            raise SystemExit(f"A worker exited:\n{worker.log.read_text()[-3000:]}")


def stop_server(server):
    """Stop gunicorn and its workers (its own process group)."""
    stop_processes([server])


def stop_processes(processes):
    """Stop each process with its children (each leads its own process group): TERM, then
    KILL for one that has not ended after 30 s."""
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

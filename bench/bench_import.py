"""CSV import of 1,000,000 items as a user drives it, over HTTP against gunicorn and real
Celery workers, beside COPY of the same rows into the item and history tables (the floor).

    .venv/bin/python bench/bench_import.py        (make bench runs every bench_*.py)

What is measured:
(a) floor: the file's rows COPYed (psycopg's copy.write_row) into the real item table and its
    history table, with all their indexes, constraints and foreign keys, in a transaction
    rolled back: the least any import of these rows writes, with no validation;
(b) the import as a steward runs it, timed from the first byte of the upload: the CSV posted
    to /api/v1/imports/ (multipart), the run polled until planned; its apply asked for
    (/api/v1/imports/<id>/apply/) and the run polled until applied; then until the new
    records are findable by match (the match index task done: /api/v1/match/item/ finds the
    file's last row by its GTIN, and every GTIN of the file is indexed). The plan, the apply
    and the match index run on `celery worker` processes (--concurrency=1 each) consuming
    HUB_IMPORT_QUEUE, started by the bench; the figures are printed with 1 and with 2 of them
    (BENCH_IMPORT_WORKERS, default "1,2"; 0: no worker, tasks run eagerly in the web
    process). The web server is gunicorn, 2 sync workers.
Memory: each serving process's own peak (VmHWM): the gunicorn workers and the Celery pool
processes, read before they stop.
Targets: upload to findable <= 120 s with the most workers; each serving process's peak
memory <= 1 GiB, so the file is streamed, not loaded.

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/
hub_bench_import; created and migrated when missing), BENCH_BROKER_URL (default
redis://127.0.0.1:6379/12; only the bench's own queue is used), BENCH_IMPORT_ROWS (default
1,000,000), BENCH_IMPORT_WORKERS (default "1,2"), BENCH_IMPORT_WAIT (seconds a step may
take before the bench gives up, default 4 hours), BENCH_STRICT=1 (exit 1 when a target is
missed). The file (seeded, so the same every time) is written to var/bench/ once and reused;
the items of the previous run are removed before each run.
"""

import contextlib
import csv
import http.client
import json
import os
import random
import shutil
import sys
import time
import urllib.parse
import uuid

import common

ROWS = int(os.getenv("BENCH_IMPORT_ROWS", "1000000"))
WORKER_COUNTS = [int(n) for n in os.getenv("BENCH_IMPORT_WORKERS", "1,2").split(",") if n.strip()]
BROKER = os.getenv("BENCH_BROKER_URL", "redis://127.0.0.1:6379/12")
QUEUE = f"bench-import-{uuid.uuid4().hex[:8]}"
MEDIA = common.OUTPUT_DIR / "import-media"
WEB_WORKERS = 2
SEED = 20261127
TARGET_SECONDS = 120
TARGET_MEMORY_MIB = 1024
# How long a step (plan, apply, match index) may take before the bench gives up.
WAIT_SECONDS = int(os.getenv("BENCH_IMPORT_WAIT", str(4 * 3600)))
POLL_SECONDS = 0.25
CLIENT_NAME = "bench-import"
HEADERS = [
    "number",
    "description",
    "base_unit",
    "item_type",
    "status",
    "gtin",
    "manufacturer",
    "mpn",
    "commodity",
    "net_weight",
    "weight_unit",
]
WORDS = [
    "hex",
    "bolt",
    "nut",
    "washer",
    "screw",
    "pump",
    "valve",
    "gasket",
    "bearing",
    "shaft",
    "motor",
    "housing",
    "seal",
    "flange",
    "bracket",
    "cable",
    "sensor",
    "filter",
    "hose",
    "clamp",
    "spring",
    "gear",
    "pin",
    "rivet",
    "plate",
]
MAKERS = ["Boltara", "Fastenix", "Pumpwerk", "Valvia", "Motorex", "Sensix", "Hosemann", ""]
TYPES = ["raw_material", "component", "semi_finished", "finished_good", "packaging", "mro"]


def gtin13(body):
    digits = f"{body:012d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return digits + str((10 - total % 10) % 10)


def generate(path):
    """The seeded item file: a row per item, half with a GTIN, a third with a weight."""
    rng = random.Random(SEED)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for n in range(ROWS):
            words = rng.sample(WORDS, 3)
            weighed = rng.random() < 0.33
            writer.writerow(
                [
                    f"B{n:07d}",
                    f"{words[0].title()} {words[1]} {words[2]} M{rng.randint(3, 24)}",
                    "H87",
                    rng.choice(TYPES),
                    "active" if rng.random() < 0.9 else "blocked",
                    gtin13(400000000000 + n) if n % 2 else "",
                    rng.choice(MAKERS),
                    f"{rng.choice('ABCDEFGH')}{rng.randint(1000, 99999)}-{n % 97}",
                    rng.choice(["FASTENER", "HYDRAULIC", "ELECTRIC", "PACKAGING"]),
                    f"{rng.randint(1, 50000) / 1000}" if weighed else "",
                    "KGM" if weighed else "",
                ]
            )


def item_rows(path, now):
    """The file's rows as (item columns, history columns) value tuples, ids from 1."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for n, row in enumerate(reader, start=1):
            number, description, base, kind, status, gtin, maker, mpn, commodity = row[:9]
            weight, weight_unit = row[9] or None, row[10] or None
            values = (
                n, f"ITM-{n:07d}", number, description, base, kind, status, gtin, maker, mpn,
                commodity, weight, weight_unit, now, now,
            )  # fmt: skip
            yield values


ITEM_COLUMNS = [
    "id", "public_id", "number", "description", "base_unit", "item_type", "status", "gtin",
    "manufacturer", "mpn", "commodity", "net_weight", "weight_unit", "created_at", "updated_at",
]  # fmt: skip


def floor_copy(path):
    """Seconds to COPY the file's rows into the item table and its history table (source
    import), with all their indexes and constraints; rolled back."""
    from django.db import connection, transaction
    from django.utils import timezone

    from mdm.models import Item

    history = Item.history.model
    now = timezone.now()
    history_columns = [*ITEM_COLUMNS, "history_date", "history_type", "change_source"]
    history_columns.append("change_reference")
    with transaction.atomic():
        started = time.perf_counter()
        items = common.copy_rows(Item, item_rows(path, now), ITEM_COLUMNS)
        rows = ((*values, now, "+", "import", "floor") for values in item_rows(path, now))
        written = common.copy_rows(history, rows, history_columns)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # deferred foreign keys checked
        seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    assert items == written == ROWS, (items, written)
    return seconds


def reset():
    """Remove the items (and what hangs off them) a previous run left."""
    from django.db import DatabaseError, connection, transaction

    from mdm.models import Item, Unit

    for code, name, expression, mapping in (
        ("H87", "piece", "", Unit.MappingClass.COUNT),
        ("KGM", "kilogram", "kilogram", Unit.MappingClass.DIRECT),
    ):
        Unit.objects.get_or_create(
            code=code,
            defaults={"name": name, "pint_expression": expression, "mapping_class": mapping},
        )
    with connection.cursor() as cursor:
        cursor.execute(
            f"TRUNCATE {Item._meta.db_table}, {Item.history.model._meta.db_table} CASCADE"
        )
        cursor.execute("DELETE FROM xref_matchkey WHERE kind = 1")
        cursor.execute(f"VACUUM ANALYZE {Item._meta.db_table}")
        # The previous run's writes flushed now, not during this run's apply: a run writes
        # over a gigabyte of WAL, and when a checkpoint falls inside the apply it takes a
        # quarter longer. (CHECKPOINT needs a superuser or pg_checkpoint; without, skipped.)
        with contextlib.suppress(DatabaseError), transaction.atomic():
            cursor.execute("CHECKPOINT")


# --- the served hub and its workers ---------------------------------------------------------


def hub_env(url, eager):
    env = common.server_env(url)
    env.update(
        CELERY_BROKER_URL=BROKER,
        CELERY_TASK_ALWAYS_EAGER="1" if eager else "0",
        HUB_IMPORT_QUEUE=QUEUE,
        HUB_MEDIA_DIR=str(MEDIA),
        HUB_LOG_FORMAT="text",
    )
    return env


def start_web(url, port, eager):
    """gunicorn, as deployed; a long timeout: with eager tasks, a request runs the plan."""
    return common.start_gunicorn(
        url, port, "hub.wsgi", "--workers", str(WEB_WORKERS), "--timeout", str(WAIT_SECONDS),
        env=hub_env(url, eager),
    )  # fmt: skip


# --- HTTP, as a client ---------------------------------------------------------------------


def request(port, method, path, body=None, headers=None, timeout=WAIT_SECONDS):
    """(status, JSON body) of one request to 127.0.0.1:`port`."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    try:
        return response.status, json.loads(data)
    except ValueError:
        return response.status, data[:500]


def upload(port, key, path):
    """POST the file to the imports API as multipart, streamed from disk: (status, body)."""
    boundary = uuid.uuid4().hex
    head = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in (("kind", "items"), ("mode", "plan"))
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"'
        "\r\nContent-Type: text/csv\r\n\r\n"
    )
    tail = f"\r\n--{boundary}--\r\n".encode()
    head = head.encode()

    def body():
        yield head
        with open(path, "rb") as handle:
            while block := handle.read(1 << 20):
                yield block
        yield tail

    length = len(head) + path.stat().st_size + len(tail)
    headers = {
        "Authorization": f"Bearer {key}",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(length),
    }
    return request(port, "POST", "/api/v1/imports/", body(), headers)


def wait_for_run(port, key, run_id, wanted, workers, started):
    """Poll the run until its status is `wanted`; print its progress every 10 s."""
    last = time.perf_counter()
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        status, run = request(port, "GET", f"/api/v1/imports/{run_id}/", headers=auth(key))
        if status != 200:
            raise SystemExit(f"GET run {run_id}: {status} {run}")
        if run["status"] == wanted:
            return run
        if run["status"] not in ("queued", "running"):
            raise SystemExit(f"Run {run_id} is {run['status']}: {run['message']} {run['errors']}")
        common.check_alive(workers)
        if time.perf_counter() - last >= 10:
            last = time.perf_counter()
            print(f"  {time.perf_counter() - started:5.0f} s  {run['status']} {run['progress']}%")
        time.sleep(POLL_SECONDS)
    raise SystemExit(f"Run {run_id} not {wanted} after {WAIT_SECONDS} s")


def auth(key):
    return {"Authorization": f"Bearer {key}"}


# --- findable by match ---------------------------------------------------------------------


def last_gtin_row():
    """(number, GTIN) of the file's last row with a GTIN."""
    n = ROWS - 1 if (ROWS - 1) % 2 else ROWS - 2
    return f"B{n:07d}", gtin13(400000000000 + n)


def wait_until_findable(port, key, workers):
    """Poll the match API until it finds the file's last row by its GTIN, then the index
    until it holds every GTIN of the file (each chunk of the index is written in one
    transaction, so every record is findable)."""
    from django.db import connection

    from mdm.models import Item
    from xref.models import MatchKey

    def indexed():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM xref_matchkey WHERE kind = %s AND key >= 'gtin:' "
                "AND key < 'gtin;'",
                [MatchKey.Kind.ITEM],
            )
            return cursor.fetchone()[0]

    number, gtin = last_gtin_row()
    public_id = Item.objects.get(number=number).public_id
    query = urllib.parse.urlencode({"gtin": gtin, "limit": 1})
    started = last = time.perf_counter()
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        status, body = request(port, "GET", f"/api/v1/match/item/?{query}", headers=auth(key))
        if status != 200:
            raise SystemExit(f"GET match: {status} {body}")
        if [found["id"] for found in body["results"]] == [public_id]:
            break
        common.check_alive(workers)
        if time.perf_counter() - last >= 30:
            last = time.perf_counter()
            print(f"  {last - started:5.0f} s after the apply: {indexed():,} GTINs indexed")
        time.sleep(POLL_SECONDS)
    else:
        raise SystemExit(f"{number} not findable by match after {WAIT_SECONDS} s")
    while time.monotonic() < deadline:
        if indexed() >= ROWS // 2:
            return
        common.check_alive(workers)
        time.sleep(POLL_SECONDS)
    raise SystemExit(f"Not every GTIN indexed after {WAIT_SECONDS} s")


# --- one import -----------------------------------------------------------------------------


def import_once(url, port, key, path, worker_count):
    """The import through the API with `worker_count` Celery workers (0: eager tasks in the
    web process, which then is started for this run alone)."""
    from mdm.models import Item

    reset()
    shutil.rmtree(MEDIA, ignore_errors=True)
    import redis

    redis.Redis.from_url(BROKER).delete(QUEUE)
    eager = worker_count == 0
    web = start_web(url, port, eager)
    workers = (
        []
        if eager
        else common.start_celery_workers(
            hub_env(url, eager=False), QUEUE, worker_count, "--concurrency=1"
        )
    )
    try:
        started = time.perf_counter()
        status, run = upload(port, key, path)
        if status not in (201, 202):
            raise SystemExit(f"Upload: {status} {run}")
        uploaded = time.perf_counter() - started
        run = wait_for_run(port, key, run["id"], "planned", workers, started)
        planned = time.perf_counter() - started
        assert not run["plan_counts"].get("error"), run["errors"][:5]
        status, body = request(port, "POST", f"/api/v1/imports/{run['id']}/apply/", b"{}", {
            **auth(key), "Content-Type": "application/json"
        })  # fmt: skip
        if status not in (200, 202):
            raise SystemExit(f"Apply: {status} {body}")
        run = wait_for_run(port, key, run["id"], "applied", workers, started)
        applied = time.perf_counter() - started
        wait_until_findable(port, key, workers)
        findable = time.perf_counter() - started
        peaks = {
            "web": list(common.serving_peaks_mib(web.pid).values()),
            "workers": [m for w in workers for m in common.serving_peaks_mib(w.pid).values()],
        }
    finally:
        common.stop_processes([web, *workers])
    stored = Item.objects.count()
    history = Item.history.filter(change_reference=str(run["id"])).count()
    assert stored == history == ROWS, (stored, history)
    return {
        "workers": worker_count,
        "upload_s": round(uploaded, 2),
        "planned_s": round(planned, 2),
        "applied_s": round(applied, 2),
        "findable_s": round(findable, 2),
        "plan_counts": run["plan_counts"],
        "peak_mib": {k: [round(m, 1) for m in v] for k, v in peaks.items()},
    }


def main():
    url = common.database_url("hub_bench_import")
    os.environ["CELERY_BROKER_URL"] = BROKER
    os.environ["HUB_IMPORT_QUEUE"] = QUEUE
    common.setup(url)
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from mdm.models import SourceSystem
    from mdm.services import create_api_client

    if getattr(settings, "HUB_IMPORT_QUEUE", None) != QUEUE:
        print("this tree has no HUB_IMPORT_QUEUE: the import runs with eager tasks only")
        counts = [0]
    else:
        counts = WORKER_COUNTS
    path = common.OUTPUT_DIR / f"import_items_{ROWS}_{SEED}.csv"
    common.OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        print(f"generating {ROWS:,} item rows (seed {SEED}) ...")
        generate(path)
    size_mib = path.stat().st_size / 2**20
    print(f"file {path.relative_to(common.ROOT)}: {size_mib:,.1f} MiB")
    SourceSystem.objects.get_or_create(
        code="BENCH_IMPORT", defaults={"name": "Bench import", "kind": "erp"}
    )
    get_user_model().objects.filter(username=f"api:{CLIENT_NAME}").delete()
    _, key = create_api_client("BENCH_IMPORT", CLIENT_NAME, role="steward")

    reset()
    floor = floor_copy(path)
    print(f"floor (COPY into the item and history tables, with their indexes): {floor:.1f} s")
    port = common.free_port()
    runs = []
    for count in counts:
        label = f"{count} worker process{'es' * (count != 1)}" if count else "eager, web process"
        print(f"import over HTTP, {label} ...")
        runs.append(import_once(url, port, key, path, count))
        last = runs[-1]
        print(
            f"  planned {last['planned_s']:.1f} s, applied {last['applied_s']:.1f} s, "
            f"findable {last['findable_s']:.1f} s; peak MiB {last['peak_mib']}"
        )

    rows = [("floor: COPY into item + history tables", "", floor, ROWS / floor, 1.0)]
    for run in runs:
        n = run["workers"]
        who = f"{n} worker{'s' * (n != 1)}" if n else "eager"
        rows += [
            (f"upload + plan ({who})", run["workers"], run["planned_s"], "", ""),
            (f"upload to applied ({who})", run["workers"], run["applied_s"], "", ""),
            (
                f"upload to findable by match ({who})",
                run["workers"],
                run["findable_s"],
                ROWS / run["findable_s"],
                run["findable_s"] / floor,
            ),
        ]
    common.print_table(
        f"CSV import of {ROWS:,} items over HTTP",
        ["step", "workers", "seconds", "rows/s", "x floor"],
        rows,
    )
    best = runs[-1]
    memory = {f"web {n}": m for n, m in enumerate(best["peak_mib"]["web"], start=1)}
    for run in runs:
        for n, m in enumerate(run["peak_mib"]["workers"], start=1):
            memory[f"worker {n} of {run['workers']}"] = m
    print("\npeak memory (VmHWM) per serving process: " + ", ".join(
        f"{name} {m:,.0f} MiB" for name, m in memory.items()
    ))  # fmt: skip
    figures = {
        "rows": ROWS,
        "file_mib": round(size_mib, 1),
        "floor_copy_s": round(floor, 2),
        "runs": runs,
        "ratio_to_floor": round(best["findable_s"] / floor, 1),
        "peak_mib": memory,
    }
    checks = [
        common.check(
            f"upload to findable, {best['workers'] or 'eager, no'} workers (s)",
            best["findable_s"],
            TARGET_SECONDS,
            unit=" s",
        ),
        *(
            common.check(f"peak memory {name} (MiB)", m, TARGET_MEMORY_MIB, unit=" MiB")
            for name, m in memory.items()
        ),
    ]
    return common.finish("import", figures, checks, {"setup": {"queue": QUEUE}})


if __name__ == "__main__":
    sys.exit(main())

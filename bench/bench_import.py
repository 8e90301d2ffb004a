"""CSV import of 1,000,000 items, planned and applied, beside COPY of the same file into a bare
table (the floor).

    .venv/bin/python bench/bench_import.py        (make bench runs every bench_*.py)

What is measured:
(a) floor: the file loaded with PostgreSQL's COPY (psycopg, as `psql \\copy` does) into a bare
    table of text columns: no validation, no history, no indexes;
(b) plan: imports.services.plan_run over the file: every row read, parsed, looked up (one
    query per chunk per key and per reference) and validated by the model's full_clean()
    (foreign keys, unique fields and check constraints checked per chunk), the chunks judged
    in HUB_IMPORT_PROCESSES worker processes (default: one per core, at most 4); nothing
    written, the new records kept as COPY text for the apply;
(c) apply: imports.services.apply_run of that plan: the records the file names and
    references checked against what the plan saw, then the items and their history rows
    (source import, the run's id) inserted with COPY, chunk by chunk, in one transaction,
    refused if the plan went stale.
The fuzzy-match index (xref.matching) of the new items is brought up to date by a background
task the apply enqueues; it is not part of plan + apply and is timed only on request.
Targets: plan + apply <= 120 s; peak memory (the peak RSS of this process, and of each
worker process) <= 1 GiB, so the file is streamed, not loaded.

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/
hub_bench_import; created and migrated when missing), BENCH_IMPORT_ROWS (default 1,000,000),
BENCH_IMPORT_MATCH_INDEX=1 (also time the match index task; at a million items it writes
some twenty million keys), BENCH_STRICT=1 (exit 1 when a target is missed). The file (seeded,
so the same every time) is written to var/bench/ once and reused; the items of the previous
run are removed first.
"""

import contextlib
import csv
import os
import random
import resource
import sys
import time

import common

ROWS = int(os.getenv("BENCH_IMPORT_ROWS", "1000000"))
MATCH_INDEX = os.getenv("BENCH_IMPORT_MATCH_INDEX") == "1"
SEED = 20261127
TARGET_SECONDS = 120
TARGET_MEMORY_MIB = 1024
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


def floor_copy(path):
    """Seconds to COPY the file into a bare table of text columns."""
    from django.db import connection

    columns = ", ".join(f"{name} text" for name in HEADERS)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_import_floor")
        cursor.execute(f"CREATE TABLE bench_import_floor ({columns})")
        started = time.perf_counter()
        statement = "COPY bench_import_floor FROM STDIN (FORMAT csv, HEADER true)"
        with open(path, "rb") as handle, cursor.cursor.copy(statement) as copy:
            while block := handle.read(1 << 20):
                copy.write(block)
        seconds = time.perf_counter() - started
        cursor.execute("SELECT count(*) FROM bench_import_floor")
        loaded = cursor.fetchone()[0]
        cursor.execute("DROP TABLE bench_import_floor")
    assert loaded == ROWS, loaded
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


def peak_rss_mib():
    """The peak RSS of this process and of the largest of the plan's worker processes."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return own / 1024, workers / 1024


def main():
    url = common.database_url("hub_bench_import")
    common.setup(url)
    from django.conf import settings

    from imports import services
    from imports.models import ImportRun
    from mdm.models import Item

    path = common.OUTPUT_DIR / f"import_items_{ROWS}_{SEED}.csv"
    common.OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        print(f"generating {ROWS:,} item rows (seed {SEED}) ...")
        generate(path)
    size_mib = path.stat().st_size / 2**20
    print(f"file {path.relative_to(common.ROOT)}: {size_mib:,.1f} MiB")
    reset()
    floor = floor_copy(path)
    print(f"floor (COPY into a bare table): {floor:.1f} s")

    last = [time.perf_counter()]

    def progress(counts, percent):
        now = time.perf_counter()
        if now - last[0] >= 10:
            last[0] = now
            print(f"  {percent:3d}%  {counts['rows']:,} rows")

    run = ImportRun.objects.create(kind="items", file_name=path.name, status="running")
    started = time.perf_counter()
    with open(path, "rb") as handle:
        services.plan_run(run, handle, progress=progress)
    plan_seconds = time.perf_counter() - started
    print(f"plan: {plan_seconds:.1f} s  {run.plan_counts}")
    assert run.status == ImportRun.Status.PLANNED and not run.plan_counts["error"], run.errors[:5]

    # The fuzzy-match index is brought up to date after the apply commits, in the background
    # (a task); here it is run after the apply and timed on its own.
    from imports import tasks

    tasks.enqueue_match_index = lambda run: None
    started = time.perf_counter()
    with open(path, "rb") as handle:
        services.apply_run(run, handle, progress=progress)
    apply_seconds = time.perf_counter() - started
    print(f"apply: {apply_seconds:.1f} s  {run.counts}")
    assert run.status == ImportRun.Status.APPLIED, run.message
    stored = Item.objects.count()
    history = Item.history.filter(change_reference=str(run.pk)).count()
    assert stored == history == ROWS, (stored, history)

    index_seconds = None
    if MATCH_INDEX:
        started = time.perf_counter()
        indexed = services.refresh_match_index(run.pk)
        index_seconds = time.perf_counter() - started
        print(f"match index (background task): {indexed:,} items in {index_seconds:.1f} s")

    total = plan_seconds + apply_seconds
    memory, worker_memory = peak_rss_mib()
    figures = {
        "rows": ROWS,
        "file_mib": round(size_mib, 1),
        "floor_copy_s": round(floor, 2),
        "plan_s": round(plan_seconds, 2),
        "apply_s": round(apply_seconds, 2),
        "plan_plus_apply_s": round(total, 2),
        "ratio_to_floor": round(total / floor, 1),
        "rows_per_s_plan": round(ROWS / plan_seconds),
        "rows_per_s_apply": round(ROWS / apply_seconds),
        "peak_rss_mib": round(memory, 1),
        "peak_rss_worker_mib": round(worker_memory, 1),
        "plan_processes": settings.HUB_IMPORT_PROCESSES,
        "match_index_s": index_seconds and round(index_seconds, 2),
    }
    common.print_table(
        "CSV import of items",
        ["step", "seconds", "rows/s", "x floor"],
        [
            ("floor: COPY into a bare table", floor, ROWS / floor, 1.0),
            (
                "plan (validate, write nothing)",
                plan_seconds,
                ROWS / plan_seconds,
                plan_seconds / floor,
            ),
            (
                "apply (validate, write, history)",
                apply_seconds,
                ROWS / apply_seconds,
                apply_seconds / floor,
            ),
            ("plan + apply", total, ROWS / total, total / floor),
        ],
    )
    if index_seconds:
        print(f"match index (background task, not in plan + apply): {index_seconds:.1f} s")
    else:
        print(
            "match index (a background task after the apply): not measured; "
            "BENCH_IMPORT_MATCH_INDEX=1 times it"
        )
    print(f"\npeak RSS {memory:,.0f} MiB; of a plan worker process {worker_memory:,.0f} MiB")
    checks = [
        common.check("plan + apply (s)", total, TARGET_SECONDS, unit=" s"),
        common.check("peak RSS (MiB)", memory, TARGET_MEMORY_MIB, unit=" MiB"),
        common.check(
            "peak RSS of a plan worker (MiB)", worker_memory, TARGET_MEMORY_MIB, unit=" MiB"
        ),
    ]
    return common.finish("import", figures, checks)


if __name__ == "__main__":
    sys.exit(main())

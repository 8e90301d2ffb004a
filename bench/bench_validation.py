"""Validation of a 1,000,000-line forecast, end to end through Redis, PostgreSQL and two Celery
worker processes, beside the same rules run in-process on preloaded dictionaries (the floor).

    .venv/bin/python bench/bench_validation.py        (make bench runs every bench_*.py)

What is measured:
(a) floor: the forecast rules (codes known, item active, location a plant, unit convertible,
    quantity valid) and the enrichment (ids, other systems' codes, base quantity) over the
    lines in one process, on dictionaries loaded beforehand: no database, no broker;
(b) in-process pipeline: validation.pipeline.Check over the lines, chunk by chunk, in this
    process (the real rules, one resolve batch per chunk), as one worker would run them;
(c) end to end: the release posted in parts to the messages API over HTTP, as the planning
    system's sync flow does (gunicorn, 2 sync workers: authentication, contract check,
    storage, enqueue on Redis; two parts at a time), and validated by two `celery worker
    --pool=solo` processes (chunk tasks in parallel, the last combining them into one
    outcome); timed from before the first part's upload until the release is final (the
    parts' JSON is made beforehand, as a client has it ready). Each serving process's peak
    memory is its own VmHWM (the Celery workers, the gunicorn workers).
Targets: end to end <= 120 s, each serving process's peak memory <= 1 GiB.

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/
hub_bench_validation; created, migrated and seeded when missing), BENCH_BROKER_URL (default
redis://127.0.0.1:6379/12; only the bench's own queue is used), BENCH_LINES (default
1,000,000), BENCH_CHUNK_LINES (default 5,000), BENCH_STRICT=1 (exit 1 when a target is
missed).

The data set is the demo world (demo.seed.seed_demo with 10,000 items and 200 suppliers, and
its cross-references), seeded once and reused. The forecast covers every active item the
legacy ERP stocks at each of the three plants, in PLANNING's codes, day by day; a fifth of
the lines of items with a net weight are sent in kilograms (converted by weight).
"""

import datetime as dt
import http.client
import os
import random
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import common

SEED_ITEMS, SEED_SUPPLIERS = 10_000, 200
TODAY = dt.date(2026, 3, 2)  # the seed's today: cut-over 2026-04-01
START = dt.date(2026, 3, 9)  # the forecast's first day, before the cut-over
DATASET = {"items": SEED_ITEMS, "suppliers": SEED_SUPPLIERS, "today": TODAY.isoformat()}
LINES = int(os.getenv("BENCH_LINES", "1000000"))
PART_LINES = 50_000  # lines per part: ~6 MB of JSON, well under the request size limit
SUBMITTERS = 2  # parts posted side by side
CHUNK_LINES = int(os.getenv("BENCH_CHUNK_LINES", "5000"))
WORKERS = 2
WEB_WORKERS = 2  # gunicorn, sync
CLIENT_NAME = "bench-validation"
BROKER = os.getenv("BENCH_BROKER_URL", "redis://127.0.0.1:6379/12")
QUEUE = f"bench-validation-{uuid.uuid4().hex[:8]}"
PLAN = "BENCH-1M"
TARGET_SECONDS = 120
TARGET_MEMORY_MIB = 1024
WAIT_SECONDS = 900


# --- data set ---------------------------------------------------------------------------------


def ensure_dataset():
    from demo.seed import seed_demo

    if common.dataset_matches("validation", DATASET):
        return None
    started = time.perf_counter()
    print("seeding the demo world (once; reused while the sizes stay the same)...")
    # The demo messages are not part of the bench.
    seed_demo(items=SEED_ITEMS, suppliers=SEED_SUPPLIERS, today=TODAY, messages=False)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    common.mark_dataset("validation", DATASET)
    seconds = time.perf_counter() - started
    print(f"  seeded in {seconds:.0f} s")
    return seconds


def combinations():
    """(planning item code, planning plant code, planning unit code, base unit, net weight,
    item public id, plant public id, legacy plant code, legacy item code) of every active item
    stocked by the legacy ERP at a plant, valid on START."""
    from django.db.models import Q

    from mdm.models import Item, Location
    from xref.models import CrossReference

    def valid(queryset):
        return queryset.filter(status="active").filter(
            Q(valid_from__isnull=True) | Q(valid_from__lte=START),
            Q(valid_to__isnull=True) | Q(valid_to__gt=START),
        )

    refs = CrossReference.objects.select_related("system")
    planning_items = dict(
        valid(refs.filter(system__code="PLANNING", kind="item")).values_list("item_id", "code")
    )
    planning_units = dict(
        valid(refs.filter(system__code="PLANNING", kind="unit", is_preferred=True)).values_list(
            "unit_id", "code"
        )
    )
    legacy_plants = dict(
        valid(refs.filter(system__code="ERP_LEGACY", kind="location", scope="")).values_list(
            "code", "location_id"
        )
    )
    plants = {p.pk: p for p in Location.objects.filter(pk__in=legacy_plants.values())}
    planning_plants = dict(
        valid(refs.filter(system__code="PLANNING", kind="location")).values_list(
            "location_id", "code"
        )
    )
    items = {
        item.pk: item
        for item in Item.objects.filter(status="active", base_unit_id__in=planning_units)
    }
    found = []
    stocked = valid(refs.filter(system__code="ERP_LEGACY", kind="item")).values_list(
        "item_id", "scope", "code"
    )
    for item_id, scope, code in stocked.order_by("item_id", "scope"):
        item = items.get(item_id)
        plant = plants.get(legacy_plants.get(scope))
        if item is None or plant is None or item_id not in planning_items:
            continue
        found.append(
            (
                planning_items[item_id],
                planning_plants[plant.pk],
                planning_units[item.base_unit_id],
                item.base_unit_id,
                item.net_weight,
                item.public_id,
                plant.public_id,
                scope,
                code,
            )
        )
    return found, planning_units


def forecast_lines(combos, kilograms, count):
    """The forecast's lines, period by period over every combination: deterministic."""
    rng = random.Random(20260309)
    day = 0
    produced = 0
    while produced < count:
        period = (START + dt.timedelta(days=day)).isoformat()
        for item, location, unit, base, weight, *_ in combos:
            if produced == count:
                return
            quantity = rng.randrange(1, 500)
            if base == "H87" and weight is not None and rng.random() < 0.2:
                value = f"{quantity * weight:.4f}".rstrip("0").rstrip(".")
                if value and value != "0":
                    yield {
                        "item": item,
                        "location": location,
                        "period_start": period,
                        "quantity": value,
                        "unit": kilograms,
                    }
                    produced += 1
                    continue
            yield {
                "item": item,
                "location": location,
                "period_start": period,
                "quantity": quantity,
                "unit": unit,
            }
            produced += 1
        day += 1


def header(part, parts):
    end = START + dt.timedelta(days=LINES // 8000 + 400)
    return {
        "plan_id": PLAN,
        "version": 1,
        "horizon": {"start": START.isoformat(), "end": end.isoformat()},
        "bucket": "day",
        "part": {"number": part, "of": parts},
    }


# --- (a) the floor ------------------------------------------------------------------------------


def floor(combos, lines):
    """The rules and the enrichment on preloaded dictionaries: (lines/s, problems found)."""
    from decimal import Decimal

    items = {}
    for planning, _, _, base, weight, public_id, _, _, _ in combos:
        items[planning] = (public_id, "active", base, weight)
    plants = {location: (plant, "plant") for _, location, _, _, _, _, plant, _, _ in combos}
    legacy = {(c[5], c[6]): (c[7], c[8]) for c in combos}
    units = {"PCS": "H87", "KG": "KGM", "M": "MTR", "L": "LTR"}
    started = time.perf_counter()
    problems = 0
    for line in lines:
        item = items.get(line["item"])
        plant = plants.get(line["location"])
        unit = units.get(line["unit"])
        if item is None or plant is None or unit is None:
            problems += 1
            continue
        public_id, status, base, weight = item
        if status != "active" or plant[1] != "plant":
            problems += 1
        quantity = line["quantity"]
        if unit == base:
            value = str(quantity)
        elif unit == "KGM" and weight:
            value = str(Decimal(quantity) / weight)
        else:
            problems += 1
            continue
        if Decimal(quantity) <= 0:
            problems += 1
        scope, code = legacy[(public_id, plant[0])]
        line["hub"] = {
            "ids": {"item": public_id, "location": plant[0], "unit": unit},
            "codes": {"ERP_LEGACY": {"item": code, "location": scope}},
            "quantity": {"value": value, "unit": base},
        }
    seconds = time.perf_counter() - started
    return len(lines) / seconds, problems


# --- (b) the pipeline in this process -------------------------------------------------------------


def in_process(lines, system):
    """validation.pipeline over the lines, chunk by chunk, enriched lines serialized as a
    chunk task does: (lines/s, diagnostics)."""
    import orjson

    from validation.pipeline import Check

    started = time.perf_counter()
    check = Check("forecast", 1, header(1, 1), system)
    found = 0
    for start in range(0, len(lines), CHUNK_LINES):
        diagnostics, enriched = check.check_lines(lines[start : start + CHUNK_LINES], start)
        found += len(diagnostics)
        if enriched is not None:
            orjson.dumps(enriched)
    return len(lines) / (time.perf_counter() - started), found


# --- (c) end to end ---------------------------------------------------------------------------


def start_workers(url):
    env = common.server_env(url)
    env.update(
        CELERY_BROKER_URL=BROKER,
        CELERY_TASK_ALWAYS_EAGER="0",
        HUB_VALIDATION_QUEUE=QUEUE,
        HUB_VALIDATION_CHUNK_LINES=str(CHUNK_LINES),
        HUB_LOG_FORMAT="text",
        HUB_LOG_LEVEL="WARNING",
    )
    return common.start_celery_workers(env, QUEUE, WORKERS, "--pool=solo")


def forget_earlier_runs(system):
    from quarantine.models import CaseTransition, QuarantineCase
    from validation.models import ForecastRelease, InboundMessage

    earlier = InboundMessage.objects.filter(system=system, payload__plan_id=PLAN)
    cases = QuarantineCase.objects.filter(message__in=earlier)
    CaseTransition.objects.filter(case__in=cases).delete()
    cases.delete()
    # The ledger's release of an earlier run protects its message; the run starts afresh.
    ForecastRelease.objects.filter(system=system, plan_id=PLAN).delete()
    earlier.delete()


def post_part(port, key, number, body):
    """POST one part to the messages API, as the planning system's sync flow does."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT_SECONDS)
    headers = {
        "Authorization": f"Bearer {key}",
        "Content-Type": "application/json",
        "Idempotency-Key": f"{PLAN}-{QUEUE}-{number}",
    }
    try:
        connection.request("POST", "/api/v1/messages/", body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
    finally:
        connection.close()
    if response.status != 202:
        raise SystemExit(f"Part {number}: {response.status} {answer[:500]!r}")


def end_to_end(url, lines, system):
    import orjson
    import redis
    from django.contrib.auth import get_user_model

    from mdm.services import create_api_client
    from validation.models import InboundMessage

    forget_earlier_runs(system)
    redis.Redis.from_url(BROKER).delete(QUEUE)
    get_user_model().objects.filter(username=f"api:{CLIENT_NAME}").delete()
    _, key = create_api_client(system.code, CLIENT_NAME)
    parts = -(-LINES // PART_LINES)
    bodies = []  # the JSON a client has ready to send
    for number in range(1, parts + 1):
        payload = header(number, parts)
        payload["lines"] = lines[(number - 1) * PART_LINES : number * PART_LINES]
        message = {"message_type": "forecast", "schema_version": 1, "payload": payload}
        bodies.append(orjson.dumps(message))
    port = common.free_port()
    server = common.start_gunicorn(
        url, port, "--chdir", str(common.ROOT), "--workers", str(WEB_WORKERS), "--timeout",
        str(WAIT_SECONDS), "hub.wsgi",
    )  # fmt: skip
    workers = start_workers(url)
    try:

        def submit(numbered):
            post_part(port, key, *numbered)

        # Parts are independent requests: a sync flow posts them side by side.
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=SUBMITTERS) as pool:
            list(pool.map(submit, enumerate(bodies, start=1)))
        submitted = time.perf_counter() - started
        print(f"  {LINES:,} lines submitted in {parts} parts in {submitted:.1f} s")
        leader = InboundMessage.objects.filter(system=system, payload__plan_id=PLAN)
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            row = leader.filter(part_number=1).values("status", "chunks_total", "chunks_done")
            row = row.first()
            if row and row["status"] in InboundMessage.FINAL_STATUSES:
                break
            common.check_alive(workers)
            time.sleep(0.1)
        else:
            raise SystemExit(f"The release was not final after {WAIT_SECONDS} s: {row}")
        seconds = time.perf_counter() - started
        memory = [m for w in workers for m in common.serving_peaks_mib(w.pid).values()]
        web_memory = list(common.serving_peaks_mib(server.pid).values())
    finally:
        common.stop_processes(workers)
        common.stop_server(server)
    first = leader.get(part_number=1)
    statuses = sorted(set(leader.values_list("status", flat=True)))
    return {
        "seconds": seconds,
        "submit_seconds": submitted,
        "validate_seconds": (first.finished_at - first.claimed_at).total_seconds(),
        "status": statuses,
        "chunks": first.chunks_total,
        "diagnostics": len(first.diagnostics),
        "attempts": first.attempts,
        "memory_mib": memory,
        "web_memory_mib": web_memory,
        "lines_per_second": LINES / seconds,
    }


def main():
    os.environ["CELERY_BROKER_URL"] = BROKER
    os.environ["HUB_VALIDATION_QUEUE"] = QUEUE
    os.environ["HUB_VALIDATION_CHUNK_LINES"] = str(CHUNK_LINES)
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"  # the web server enqueues; the workers run
    # The release is a hundred megabytes in a minute: more than a system's default budget.
    os.environ["HUB_BUDGET_BYTES_PER_MINUTE"] = "0"
    os.environ["HUB_BUDGET_MESSAGES_PER_MINUTE"] = "0"
    url = common.database_url("hub_bench_validation")
    common.setup(url)
    seeded = ensure_dataset()

    from mdm.models import SourceSystem

    system = SourceSystem.objects.get(code="PLANNING")
    combos, units = combinations()
    print(f"{len(combos):,} item x plant combinations; {LINES:,} lines")
    lines = list(forecast_lines(combos, units["KGM"], LINES))

    print("(a) floor: the rules on preloaded dictionaries...")
    floor_rate, floor_problems = floor(combos, [dict(line) for line in lines])
    print(f"  {floor_rate:,.0f} lines/s")
    print("(b) the pipeline in this process (one worker's path, no broker)...")
    pipeline_rate, pipeline_found = in_process(lines, system)
    print(f"  {pipeline_rate:,.0f} lines/s, {pipeline_found} diagnostics")

    print(f"(c) end to end: {WORKERS} workers on {BROKER}, chunks of {CHUNK_LINES:,} lines...")
    e2e = end_to_end(url, lines, system)
    print(
        f"  {e2e['status']} in {e2e['seconds']:.1f} s ({e2e['lines_per_second']:,.0f} lines/s); "
        f"peak memory per worker {', '.join(f'{m:.0f} MiB' for m in e2e['memory_mib'])}, "
        f"per web process {', '.join(f'{m:.0f} MiB' for m in e2e['web_memory_mib'])}"
    )

    common.print_table(
        "validation of a forecast",
        ["path", "lines", "lines/s", "seconds"],
        [
            ("floor: preloaded dictionaries", LINES, floor_rate, LINES / floor_rate),
            ("pipeline, one process", LINES, pipeline_rate, LINES / pipeline_rate),
            (
                f"end to end over HTTP, {WORKERS} workers",
                LINES,
                e2e["lines_per_second"],
                e2e["seconds"],
            ),
        ],
    )
    figures = {
        "lines": LINES,
        "parts": -(-LINES // PART_LINES),
        "chunk_lines": CHUNK_LINES,
        "combinations": len(combos),
        "floor_lines_per_second": round(floor_rate),
        "floor_problems": floor_problems,
        "pipeline_lines_per_second": round(pipeline_rate),
        "pipeline_diagnostics": pipeline_found,
        "end_to_end": e2e,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
    }
    checks = [
        common.check("end to end, seconds", e2e["seconds"], TARGET_SECONDS, unit=" s"),
        *(
            common.check(f"worker {n} peak memory, MiB", memory, TARGET_MEMORY_MIB, unit=" MiB")
            for n, memory in enumerate(e2e["memory_mib"], start=1)
        ),
        *(
            common.check(
                f"web process {n} peak memory, MiB", memory, TARGET_MEMORY_MIB, unit=" MiB"
            )
            for n, memory in enumerate(e2e["web_memory_mib"], start=1)
        ),
        common.check("released (1 = yes)", int(e2e["status"] == ["released"]), 1, True),
    ]
    return common.finish("validation", figures, checks, {"setup": {"seed_seconds": seeded}})


if __name__ == "__main__":
    sys.exit(main())

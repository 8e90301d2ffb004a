"""Resolution, the hot path, on PostgreSQL with 1,000,000 generated cross-references:

(a) single resolve over HTTP under gunicorn (2 workers) with a concurrent load generator on
    loopback, beside a bare Django view (no DRF, no authentication) doing the same indexed
    lookups: requests/s, p50, p99, over the mix a sync flow sends: 80 % current codes
    (resolved, 200), 10 % legacy codes retired at the cut-over (404 naming the successor),
    10 % unknown codes (404; the API adds near-miss and match candidates, the bare view
    none). Every answer counts in the figures, each outcome's latency is printed too.
    Targets: >= 0.7x the bare view's throughput, p99 <= 20 ms.
(b) batch resolve of 10,000 keys, timed in-process (the service call) and over HTTP (the
    batch API, round trip), beside a raw SQL join of the same keys. Target: <= 300 ms.

    .venv/bin/python bench/bench_resolve.py        (make bench runs every bench_*.py)

Environment:
- BENCH_DATABASE_URL: default postgres://postgres@127.0.0.1:5432/hub_bench_resolve, created
  and migrated when missing;
- BENCH_SECONDS: length of each measured HTTP round, default 4 (four rounds per view,
  interleaved);
- BENCH_CONCURRENCY: connections of the load generator, default 4 (two per worker);
- BENCH_RESOLVE_SCALE: size of the data set relative to the one below, default 1;
- BENCH_STRICT=1: exit 1 when a target is missed. By default PASS or FAIL is printed beside
  each target and the exit status is 0, so `make bench` goes on to the next benchmark.

The data set is generated once, with COPY, from a fixed seed, and reused while the marker in
the database says it has the same seed and sizes: 200,000 items, 40,000 suppliers and 10,000
locations, each known in four systems (ERP_LEGACY codes retired at the cut-over on 2025-07-01,
ERP_CLOUD codes valid from it, PLANNING and SUPPLIER_NET open-ended).
"""

import asyncio
import datetime as dt
import http.client
import json
import os
import random
import sys
import time
import urllib.parse
from collections import Counter, defaultdict
from pathlib import Path

import common

SEED = 20250701
# BENCH_RESOLVE_SCALE (default 1) scales the data set, e.g. 0.05 for a quick check.
SCALE = float(os.getenv("BENCH_RESOLVE_SCALE", "1"))
SIZES = {
    kind: max(1000, round(size * SCALE))
    for kind, size in {"item": 200_000, "supplier": 40_000, "location": 10_000}.items()
}
SYSTEMS = {
    "ERP_LEGACY": "erp",
    "ERP_CLOUD": "erp",
    "PLANNING": "planning",
    "SUPPLIER_NET": "supplier_network",
}
CUT_OVER = dt.date(2025, 7, 1)
# Each system's code for record number s (after scrambling), by kind.
FORMATS = {
    ("item", "ERP_LEGACY"): "{:07d}",
    ("item", "ERP_CLOUD"): "MAT-{:07d}",
    ("item", "PLANNING"): "PLN{:06d}",
    ("item", "SUPPLIER_NET"): "SN-{:06d}-A",
    ("supplier", "ERP_LEGACY"): "V{:05d}",
    ("supplier", "ERP_CLOUD"): "SUP-{:06d}",
    ("supplier", "PLANNING"): "PS{:05d}",
    ("supplier", "SUPPLIER_NET"): "DUNS{:09d}",
    ("location", "ERP_LEGACY"): "{:04d}",
    ("location", "ERP_CLOUD"): "LOC-{:05d}",
    ("location", "PLANNING"): "PL-{:05d}",
    ("location", "SUPPLIER_NET"): "SHIP{:05d}",
}
DATASET = {
    "seed": SEED,
    "sizes": SIZES,
    "systems": sorted(SYSTEMS),
    "references": sum(SIZES.values()) * len(SYSTEMS),
    "version": 1,
}
BATCH_KEYS = 10_000
SINGLE_KEYS = 2_000
REPEAT = 7
SECONDS = float(os.getenv("BENCH_SECONDS", "4"))
ROUNDS = 4  # per view, interleaved, so a disturbance from elsewhere hits both views alike
# Two connections per worker: each worker always has the next request waiting.
CONCURRENCY = int(os.getenv("BENCH_CONCURRENCY", "4"))
MAX_REQUESTS = 200_000  # per round, whatever the time
WORKERS = 2
# sync: gunicorn's default, one request per connection, handed to whichever worker is free.
# gthread keeps connections alive, but then a round's load is only as even as the kernel
# spread the connections over the workers.
WORKER_CLASS = os.getenv("BENCH_WORKER_CLASS", "sync")
CLIENT_NAME = "bench-resolve"


def code(kind, system, n):
    """System's code for the n-th record of a kind (0-based). Multiplying by a number prime to
    the size is a bijection, so codes are unique and look unordered, and keys can be derived
    again without reading the database."""
    salt = (SEED * 31 + len(system) * 7 + len(kind)) % SIZES[kind]
    return FORMATS[(kind, system)].format((n * 48271 + salt) % SIZES[kind])


# --- data set ---------------------------------------------------------------------------------


def generate():
    from django.db import connection, transaction

    from mdm.models import IdSequence, Item, Location, SourceSystem, Supplier, Unit
    from xref.models import CrossReference

    started = time.perf_counter()
    print("generating the data set (once; reused while seed and sizes stay the same)...")
    common.forget_dataset("resolve")
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE xref_crossreference, mdm_item, mdm_supplier, mdm_location "
                "RESTART IDENTITY CASCADE"
            )
        systems = {
            name: SourceSystem.objects.get_or_create(
                code=name, defaults={"name": name.replace("_", " ").title(), "kind": kind}
            )[0].pk
            for name, kind in SYSTEMS.items()
        }
        Unit.objects.get_or_create(code="H87", defaults={"name": "piece"})
        records = {
            "item": (
                Item,
                ["id", "public_id", "number", "description", "base_unit", "item_type"],
                lambda n: (n, f"ITM-{n:06d}", f"N{n:07d}", f"Item {n}", "H87", "component"),
            ),
            "supplier": (
                Supplier,
                ["id", "public_id", "number", "name", "country"],
                lambda n: (n, f"SUP-{n:06d}", f"S{n:06d}", f"Supplier {n}", "DE"),
            ),
            "location": (
                Location,
                ["id", "public_id", "code", "name", "kind", "country"],
                lambda n: (n, f"LOC-{n:06d}", f"L{n:06d}", f"Location {n}", "warehouse", "DE"),
            ),
        }
        models = [model for model, _, _ in records.values()]
        with common.bulk_load(*models, CrossReference) as skipped:
            for kind, (model, columns, row) in records.items():
                size = SIZES[kind]
                common.copy_rows(model, (row(n) for n in range(1, size + 1)), columns)
                IdSequence.objects.update_or_create(
                    prefix=model.PUBLIC_ID_PREFIX, defaults={"last": size}
                )
                with connection.cursor() as cursor:
                    table = model._meta.db_table
                    cursor.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {size})"
                    )

            def references(kind):
                for system, system_id in systems.items():
                    valid_from = CUT_OVER if system == "ERP_CLOUD" else None
                    valid_to = CUT_OVER if system == "ERP_LEGACY" else None
                    preferred = system in ("ERP_CLOUD", "PLANNING")
                    for n in range(SIZES[kind]):
                        yield (
                            kind,
                            system_id,
                            code(kind, system, n),
                            n + 1,
                            valid_from,
                            valid_to,
                            preferred,
                            "import",
                        )

            # One COPY per kind: the target column differs.
            count = 0
            for kind in SIZES:
                columns = ["kind", "system", "code", kind, "valid_from", "valid_to"]
                columns += ["is_preferred", "origin"]
                count += common.copy_rows(CrossReference, references(kind), columns)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    common.mark_dataset("resolve", DATASET)
    print(f"  {count:,} cross-references in {time.perf_counter() - started:.0f} s")
    if skipped:
        print(f"  not built again on this bench copy (reads do not use them): {', '.join(skipped)}")


# --- keys -------------------------------------------------------------------------------------


def batch_keys(count):
    """A sync flow's mix: 80% current codes (resolved), 10% legacy codes (retired at the
    cut-over, with a successor), 10% unknown codes."""
    rng = random.Random(SEED + 1)
    kinds = rng.choices(list(SIZES), weights=[80, 15, 5], k=count)
    keys = []
    for index, kind in enumerate(kinds):
        draw = rng.random()
        n = rng.randrange(SIZES[kind])
        if draw < 0.8:
            system = rng.choice(("ERP_CLOUD", "PLANNING", "SUPPLIER_NET"))
            keys.append({"kind": kind, "system": system, "code": code(kind, system, n)})
        elif draw < 0.9:
            keys.append({"kind": kind, "system": "ERP_LEGACY", "code": code(kind, "ERP_LEGACY", n)})
        else:
            keys.append({"kind": kind, "system": "PLANNING", "code": f"UNKNOWN-{index}"})
    return keys


def single_keys(seed):
    """Item keys in the batch's mix: 80 % current codes, 10 % legacy codes retired at the
    cut-over, 10 % unknown codes: (system, code, "current" | "retired" | "unknown")."""
    rng = random.Random(seed)
    keys = []
    for index in range(SINGLE_KEYS):
        draw = rng.random()
        n = rng.randrange(SIZES["item"])
        if draw < 0.8:
            system = rng.choice(("ERP_CLOUD", "PLANNING", "SUPPLIER_NET"))
            keys.append((system, code("item", system, n), "current"))
        elif draw < 0.9:
            keys.append(("ERP_LEGACY", code("item", "ERP_LEGACY", n), "retired"))
        else:
            keys.append(("PLANNING", f"UNKNOWN-{index}", "unknown"))
    return keys


# The kind of code of each single request, by its place in the list of paths.
KEY_KINDS = [kind for _, _, kind in single_keys(SEED + 2)]


def single_paths(prefix):
    paths = []
    for system, value, _ in single_keys(SEED + 2):
        query = urllib.parse.urlencode({"system": system, "code": value})
        paths.append(f"{prefix}item/?{query}")
    return paths


# --- HTTP -------------------------------------------------------------------------------------


def start_server(url, port):
    threads = ["--threads", "1", "--keep-alive", "30"] if WORKER_CLASS == "gthread" else []
    return common.start_gunicorn(
        url,
        port,
        "--chdir",
        str(Path(__file__).parent),
        "--pythonpath",
        str(common.ROOT),
        "--workers",
        str(WORKERS),
        "--worker-class",
        WORKER_CLASS,
        *threads,
        "resolve_site:application",
    )


async def _client(port, requests, offset, stop_at, budget, latencies, statuses, by_kind):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    index = offset
    try:
        while time.perf_counter() < stop_at and budget[0] > 0:
            budget[0] -= 1
            request = requests[index % len(requests)]
            index += 1
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length, close = 0, False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses[int(head[9:12])] += 1
            by_kind[KEY_KINDS[(index - 1) % len(requests)]].append(latencies[-1])
            if close:
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        writer.close()


async def _load(port, requests, seconds):
    latencies, statuses, by_kind = [], Counter(), defaultdict(list)
    budget = [MAX_REQUESTS]
    started = time.perf_counter()
    stop_at = started + seconds
    step = len(requests) // CONCURRENCY
    await asyncio.gather(
        *(
            _client(port, requests, i * step, stop_at, budget, latencies, statuses, by_kind)
            for i in range(CONCURRENCY)
        )
    )
    return latencies, statuses, time.perf_counter() - started, by_kind


def load(port, paths, key, seconds):
    auth = f"Authorization: Bearer {key}\r\n" if key else ""
    requests = [f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}\r\n".encode() for path in paths]
    return asyncio.run(_load(port, requests, seconds))


def post(port, key, path, body):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    started = time.perf_counter()
    connection.request("POST", path, body=body, headers=headers)
    response = connection.getresponse()
    data = response.read()
    elapsed = (time.perf_counter() - started) * 1000
    connection.close()
    if response.status != 200:
        raise SystemExit(f"POST {path}: {response.status} {data[:300]!r}")
    return elapsed, data


# --- the measurements -------------------------------------------------------------------------


def measure_single(port, key):
    views = {
        "bare Django view": (single_paths("/bench/bare/resolve/"), None),
        "resolve API (DRF)": (single_paths("/api/v1/resolve/"), key),
    }
    for paths, view_key in views.values():  # warm both workers' code paths and caches
        load(port, paths, view_key, 1.5)
    totals = {name: ([], Counter(), 0.0, defaultdict(list)) for name in views}
    for _ in range(ROUNDS):
        for name, (paths, view_key) in views.items():
            latencies, statuses, elapsed, by_kind = load(port, paths, view_key, SECONDS)
            previous = totals[name]
            for kind, times in by_kind.items():
                previous[3][kind] += times
            totals[name] = (
                previous[0] + latencies,
                previous[1] + statuses,
                previous[2] + elapsed,
                previous[3],
            )
    rows = []
    figures = {}
    outcome_rows = []
    for name, (latencies, statuses, elapsed, by_kind) in totals.items():
        figure = {
            "requests": len(latencies),
            "requests_per_s": len(latencies) / elapsed,
            "p50_ms": common.percentile(latencies, 0.5) * 1000,
            "p99_ms": common.percentile(latencies, 0.99) * 1000,
            "statuses": dict(statuses),
            "by_code": {
                kind: {
                    "requests": len(times),
                    "p50_ms": common.percentile(times, 0.5) * 1000,
                    "p99_ms": common.percentile(times, 0.99) * 1000,
                }
                for kind, times in sorted(by_kind.items())
            },
        }
        figures[name] = figure
        for kind, figure_of_kind in figure["by_code"].items():
            outcome_rows.append(
                (
                    name,
                    f"{kind} code",
                    figure_of_kind["requests"],
                    figure_of_kind["p50_ms"],
                    figure_of_kind["p99_ms"],
                )
            )
        rows.append(
            (
                name,
                figure["requests"],
                figure["requests_per_s"],
                figure["p50_ms"],
                figure["p99_ms"],
                ", ".join(f"{s}: {n:,}" for s, n in sorted(statuses.items())),
            )
        )
    common.print_table(
        f"(a) single resolve over HTTP: gunicorn {WORKERS} {WORKER_CLASS} workers, {CONCURRENCY} "
        f"concurrent clients on loopback, {ROUNDS} x {SECONDS:g} s per view",
        ["view", "requests", "req/s", "p50 ms", "p99 ms", "statuses"],
        rows,
    )
    common.print_table(
        "(a) the same requests by the code asked for",
        ["view", "code", "requests", "p50 ms", "p99 ms"],
        outcome_rows,
    )
    return figures


def measure_batch_in_process(keys, as_of):
    """The service call, and the raw SQL join of the same keys (the references only, keys
    sorted, as arrays), timed alternately so that load from elsewhere hits both alike."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from mdm.models import SourceSystem
    from xref import resolve

    systems = dict(SourceSystem.objects.values_list("code", "id"))
    lookups = sorted({(systems[k["system"]], k["kind"], k["code"]) for k in keys})
    system_ids, kinds, codes = (list(column) for column in zip(*lookups, strict=True))
    join = (
        "SELECT x.id, x.kind, x.system_id, x.code, x.scope, x.item_id, x.supplier_id, "
        "x.location_id, x.valid_from, x.valid_to, x.status, x.is_preferred "
        "FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS k(system_id, kind, code) "
        "JOIN xref_crossreference x ON x.system_id = k.system_id AND x.kind = k.kind "
        "AND x.code = k.code"
    )

    def raw_join():
        with connection.cursor() as cursor:
            cursor.execute(join, [system_ids, kinds, codes])
            return cursor.fetchall()

    def service():
        return resolve.resolve_many(keys, as_of)

    raw_join(), service()  # warm-up
    raw_ms, service_ms = [], []
    for _ in range(REPEAT):
        times, rows = common.timed(raw_join, 1)
        raw_ms += times
        times, results = common.timed(service, 1)
        service_ms += times
    with CaptureQueriesContext(connection) as queries:
        service()
    mix = Counter(result["status"] for result in results)
    return service_ms, raw_ms, len(queries), mix, len(rows)


def measure_single_in_process():
    from xref import resolve

    keys = [("item", system, value) for system, value, _ in single_keys(SEED + 3)[:1000]]
    for key in keys[:50]:
        resolve.resolve(*key)
    started = time.perf_counter()
    for key in keys:
        resolve.resolve(*key)
    return (time.perf_counter() - started) / len(keys) * 1000


def main():
    load_at_start = os.getloadavg()
    url = common.database_url("hub_bench_resolve")
    common.setup(url)
    print(f"{os.cpu_count()} CPUs, load average {load_at_start[0]:.1f} before starting")
    if not common.dataset_matches("resolve", DATASET):
        generate()
    else:
        print(f"reusing the data set in {url.rsplit('/', 1)[-1]} ({DATASET['references']:,} refs)")

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from mdm.services import create_api_client

    get_user_model().objects.filter(username=f"api:{CLIENT_NAME}").delete()
    _, key = create_api_client("ERP_LEGACY", CLIENT_NAME)
    as_of = timezone.localdate()
    keys = batch_keys(BATCH_KEYS)

    single_ms = measure_single_in_process()
    service_ms, raw_ms, queries, mix, raw_rows = measure_batch_in_process(keys, as_of)

    port = common.free_port()
    server = start_server(url, port)
    try:
        single = measure_single(port, key)
        body = json.dumps({"as_of": as_of.isoformat(), "keys": keys}).encode()
        post(port, key, "/api/v1/resolve/batch/", body)  # warm-up
        http_ms = []
        for _ in range(REPEAT):
            elapsed, data = post(port, key, "/api/v1/resolve/batch/", body)
            http_ms.append(elapsed)
        answered = len(json.loads(data)["results"])
    finally:
        common.stop_server(server)

    def row(label, times, extra):
        return (label, common.percentile(times, 0.5), min(times), max(times), extra)

    statuses = ", ".join(f"{status} {n:,}" for status, n in sorted(mix.items()))
    common.print_table(
        f"(b) batch resolve of {BATCH_KEYS:,} keys ({statuses}), {REPEAT} runs each",
        ["what", "median ms", "min ms", "max ms", "notes"],
        [
            row("raw SQL join of the keys", raw_ms, f"{raw_rows:,} rows, 1 query"),
            row("resolve_many() in-process", service_ms, f"{queries} queries"),
            row("POST /api/v1/resolve/batch/ round trip", http_ms, f"{answered:,} answers"),
        ],
    )
    print(f"\nsingle resolve() in-process, the same mix: {single_ms:.2f} ms per call (no HTTP)")

    bare, api = single["bare Django view"], single["resolve API (DRF)"]
    ratio = api["requests_per_s"] / bare["requests_per_s"]
    service_median = common.percentile(service_ms, 0.5)
    http_median = common.percentile(http_ms, 0.5)
    checks = [
        common.check("(a) API throughput / bare view throughput", ratio, 0.7, True, "x"),
        common.check("(a) API p99 latency (ms)", api["p99_ms"], 20, unit=" ms"),
        common.check(
            f"(b) {BATCH_KEYS:,} keys, service time (ms)", service_median, 300, unit=" ms"
        ),
        common.check(f"(b) {BATCH_KEYS:,} keys, over HTTP (ms)", http_median, 300, unit=" ms"),
    ]
    figures = {
        "single_http": single,
        "single_in_process_ms": single_ms,
        "batch": {
            "keys": BATCH_KEYS,
            "status_mix": dict(mix),
            "service_ms": service_ms,
            "raw_sql_join_ms": raw_ms,
            "http_round_trip_ms": http_ms,
            "queries": queries,
        },
    }
    setup = {
        "dataset": DATASET,
        "workers": WORKERS,
        "worker_class": WORKER_CLASS,
        "concurrency": CONCURRENCY,
        "seconds_per_round": SECONDS,
        "rounds_per_view": ROUNDS,
        "cpus": os.cpu_count(),
        "load_average_at_start": load_at_start[0],
    }
    return common.finish("resolve", figures, checks, {"setup": setup})


if __name__ == "__main__":
    sys.exit(main())

"""Reconcile one batch of 1,000 supplier-name queries against 1,000,000 suppliers on PostgreSQL,
as OpenRefine sends it: a form-encoded POST of `queries=<JSON>` to the service URL, answered
by the hub under gunicorn (one sync worker). OpenRefine gives a batch 60 s; target <= 10 s.

Figures, all measured in this run, each after the same warm-up of 200 other queries:
- the batch of 1,000 over HTTP (wall time of the one POST; the client waits as long as it
  takes, so the figure is measured even beyond OpenRefine's 60 s);
- 1,000 other queries the way OpenRefine sends them by default: 100 POSTs of 10 (total, and
  the slowest batch against the 60 s timeout);
- the floor: the 1,000 queries of the big batch through `xref.matching.match` directly, one by
  one, in this process, with the limit the service asks for (its default 5, plus the
  runner-up that decides `match`).

    .venv/bin/python bench/bench_reconcile.py        (make bench runs every bench_*.py)

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/hub_bench_match,
created and migrated when missing); BENCH_RECONCILE_QUERIES (default 1000); BENCH_STRICT=1 to
exit 1 on a missed target.

The suppliers and their match index are bench_match.py's data set, in its database by
default (same generator, loader and marker): built once (about 8 minutes) and reused by both
benchmarks while its seed, size and index version stay the same. The queries are its
misspelled, partial and re-cased names of existing suppliers.
"""

import json
import os
import sys
import time
import urllib.request
from urllib.parse import urlencode

import bench_match
import common

QUERIES = int(os.getenv("BENCH_RECONCILE_QUERIES", "1000"))
WARM_UP = 200
SEED = bench_match.SEED + 11
TARGET_SECONDS = 10
OPENREFINE_TIMEOUT = 60
OPENREFINE_BATCH = 10
CLIENT_TIMEOUT = 1800


def start_server(url, port):
    return common.start_gunicorn(
        url,
        port,
        "hub.wsgi:application",
        "--chdir",
        str(common.ROOT),
        "--workers",
        "1",
        "--timeout",
        "300",
    )


def batch(texts):
    return {f"q{n}": {"query": text, "type": "Supplier"} for n, text in enumerate(texts)}


def post_batch(service_url, queries):
    """(seconds, answer) of one form-encoded POST."""
    body = urlencode({"queries": json.dumps(queries)}).encode()
    request = urllib.request.Request(
        service_url,
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=CLIENT_TIMEOUT) as response:
        answer = json.loads(response.read())
    return time.perf_counter() - started, answer


def quality(answer, sources):
    """Share of queries whose source supplier is the top candidate, is among the candidates,
    and share auto-matched (match: true), with how many of those are right."""
    top = listed = matched = right = 0
    for n, source in enumerate(sources):
        result = answer[f"q{n}"]["result"]
        ids = [int(c["id"].split("-")[1]) for c in result]
        top += bool(ids) and ids[0] == source
        listed += source in ids
        if result and result[0]["match"]:
            matched += 1
            right += ids[0] == source
    count = len(sources)
    return top / count, listed / count, matched / count, right / max(matched, 1)


def main():
    url = common.database_url("hub_bench_match")
    common.setup(url)
    from django.db import connection

    from reconcile import services
    from reconcile.models import ReconciliationKey
    from xref import matching

    names = bench_match.suppliers()
    if not common.dataset_matches("match", bench_match.dataset_params()):
        bench_match.load(names)
    ReconciliationKey.objects.filter(name="bench").delete()
    _, secret = services.create_key("bench")
    picked = bench_match.queries(names, QUERIES, SEED)
    texts, sources = [q for q, _ in picked], [n for _, n in picked]
    small = [q for q, _ in bench_match.queries(names, QUERIES, SEED + 2)]
    warm = [q for q, _ in bench_match.queries(names, WARM_UP, SEED + 1)]
    connection.close()

    port = common.free_port()
    service_url = f"http://127.0.0.1:{port}/reconcile/{secret}/"
    print(f"gunicorn (1 sync worker) on port {port}; warm-up: {WARM_UP} queries in batches of 10")
    server = start_server(url, port)
    try:
        for start in range(0, WARM_UP, OPENREFINE_BATCH):
            post_batch(service_url, batch(warm[start : start + OPENREFINE_BATCH]))
        print(f"one batch of {QUERIES} over HTTP")
        http_seconds, answer = post_batch(service_url, batch(texts))
        print(f"  {http_seconds:.1f} s")
        print(f"{QUERIES} other queries in batches of {OPENREFINE_BATCH} over HTTP")
        small_times = []
        for start in range(0, QUERIES, OPENREFINE_BATCH):
            seconds, _ = post_batch(service_url, batch(small[start : start + OPENREFINE_BATCH]))
            small_times.append(seconds)
    finally:
        common.stop_server(server)
    assert list(answer) == [f"q{n}" for n in range(QUERIES)], "keys missing from the answer"
    top, listed, matched, right = quality(answer, sources)

    print("floor: xref.matching.match directly, one query at a time, after the same warm-up")
    limit = services.DEFAULT_LIMIT + 1
    for q in warm:
        matching.match("supplier", q, limit=limit)
    started = time.perf_counter()
    for q in texts:
        matching.match("supplier", q, limit=limit)
    floor_seconds = time.perf_counter() - started

    common.print_table(
        f"reconcile: one batch of {QUERIES:,} supplier names against "
        f"{bench_match.SUPPLIERS:,} suppliers (PostgreSQL)",
        ["figure", "value"],
        [
            (f"one batch of {QUERIES:,} over HTTP (s)", http_seconds),
            (f"floor: match() x {QUERIES:,} directly (s)", floor_seconds),
            ("batch over HTTP / floor", http_seconds / floor_seconds),
            ("per query in the batch (ms)", 1000 * http_seconds / QUERIES),
            (f"{QUERIES:,} others in batches of 10: total (s)", sum(small_times)),
            ("  slowest batch of 10 (s)", max(small_times)),
            ("  median batch of 10 (s)", common.percentile(small_times, 0.5)),
            ("source supplier is the top candidate", top),
            ("source supplier among the candidates", listed),
            ("auto-matched (match: true)", matched),
            ("auto-matches that are the source supplier", right),
        ],
    )
    checks = [
        common.check(f"batch of {QUERIES:,} over HTTP", http_seconds, TARGET_SECONDS, unit=" s"),
        common.check(
            f"batch of {QUERIES:,} within OpenRefine's timeout",
            http_seconds,
            OPENREFINE_TIMEOUT,
            unit=" s",
        ),
        common.check(
            "slowest batch of 10 within OpenRefine's timeout",
            max(small_times),
            OPENREFINE_TIMEOUT,
            unit=" s",
        ),
    ]
    return common.finish(
        "reconcile",
        {
            "suppliers": bench_match.SUPPLIERS,
            "queries": QUERIES,
            "http_seconds": http_seconds,
            "floor_seconds": floor_seconds,
            "batches_of_10_total_seconds": sum(small_times),
            "batches_of_10_max_seconds": max(small_times),
            "batches_of_10_median_seconds": common.percentile(small_times, 0.5),
            "top1_source": top,
            "source_listed": listed,
            "auto_matched": matched,
            "auto_match_precision": right,
        },
        checks,
    )


if __name__ == "__main__":
    sys.exit(main())

"""Match quality on public entity-resolution benchmarks (../shared/erdata), through the real
`xref.matching.match("item", ...)` service, with the lookup protocol of erdata/README.md:
load the right side as the item master, ask for the single best candidate of every left
record, accept it at or above a threshold; precision = correct accepted / accepted, recall
= correct accepted / ground-truth pairs. The best threshold is printed with P, R, F1 and
queries per second (one process), beside a few other thresholds.

- Walmart-Amazon (jedai_D8): Amazon is the master (title -> description, brand ->
  manufacturer, modelno -> mpn); each Walmart row asks with its title as q, its brand as
  manufacturer= and its modelno as mpn=. Target F1 >= 0.80.
- Abt-Buy (jedai_D2): Buy is the master (name, then as much of its description as fits);
  each Abt name asks as q, model number inside the text. Target F1 >= 0.85.

Beside each, the floor measured in the same run: plain rapidfuzz with no blocking, as in the
erdata README (`process.extractOne`, `token_set_ratio`, `default_process`, every master
record scanned): Walmart-Amazon title + model number on both sides, Abt-Buy name to name.

    .venv/bin/python bench/bench_match_quality.py

Runs on a throwaway SQLite database in a temporary directory (no server needed); the master
is inserted in bulk and indexed with `matching.rebuild`. BENCH_STRICT=1 exits 1 on a missed
target. The data is read from ../shared/erdata beside the project (BENCH_ERDATA overrides).
"""

import csv
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import common

ERDATA = Path(os.getenv("BENCH_ERDATA") or common.ROOT.parent / "shared" / "erdata")
THRESHOLDS = range(0, 101)
SHOWN = (50, 70, 80, 85, 90, 95, 100)


def read(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="|"))


def walmart_amazon():
    """(master, queries, truth, plain): `plain` is (master texts, query texts) for the
    brute-force floor."""
    folder = ERDATA / "walmart_amazon" / "jedai_D8"
    amazon, walmart = read(folder / "amazon.csv"), read(folder / "walmart.csv")
    master = [
        {"key": r["id"], "description": r["title"], "manufacturer": r["brand"], "mpn": r["modelno"]}
        for r in amazon
    ]
    queries = [
        (r["id"], {"q": r["title"], "manufacturer": r["brand"], "mpn": r["modelno"]})
        for r in walmart
    ]
    truth = {row["D1"]: row["D2"] for row in read(folder / "gt.csv")}
    plain = (
        [(r["id"], f"{r['title']} {r['modelno']}") for r in amazon],
        [(r["id"], f"{r['title']} {r['modelno']}") for r in walmart],
    )
    return master, queries, truth, plain


def abt_buy():
    folder = ERDATA / "abt_buy" / "jedai_D2"
    master = []
    for r in read(folder / "buy.csv"):
        description = r["name"]
        if r["description"] and r["description"] not in description:
            description = f"{description} - {r['description']}"
        master.append({"key": r["id"], "description": description, "manufacturer": "", "mpn": ""})
    abt = read(folder / "abt.csv")
    queries = [(r["id"], {"q": r["name"]}) for r in abt]
    truth = {row["D1"]: row["D2"] for row in read(folder / "gt.csv")}
    plain = (
        [(r["id"], r["name"]) for r in read(folder / "buy.csv")],
        [(r["id"], r["name"]) for r in abt],
    )
    return master, queries, truth, plain


def load_master(master):
    """Replace the item master with these records and rebuild the match index; returns
    {public id: record key}."""
    from django.db import connection

    from mdm.models import Item, Unit
    from xref import matching
    from xref.models import MatchKey

    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {MatchKey._meta.db_table}")
        cursor.execute(f"DELETE FROM {Item._meta.db_table}")
    unit, _ = Unit.objects.get_or_create(code="H87", defaults={"name": "piece"})
    items, keys = [], {}
    for n, record in enumerate(master, start=1):
        public_id = f"ITM-{n:06d}"
        keys[public_id] = record["key"]
        items.append(
            Item(
                public_id=public_id,
                number=f"BENCH{n:06d}",
                description=record["description"][:250],
                manufacturer=record["manufacturer"][:200],
                mpn=record["mpn"][:80],
                base_unit=unit,
                item_type=Item.Type.COMPONENT,
            )
        )
    Item.objects.bulk_create(items, batch_size=2000)  # no signals: the index is rebuilt below
    matching.rebuild(["item"])
    return keys


def brute_force(plain):
    """The floor: for each query text, the best of all master texts by plain rapidfuzz
    (token_set_ratio after default_process, no blocking); [(query key, score, master key)]
    and queries/s. The master texts are processed once, which changes no score."""
    from rapidfuzz import fuzz, process, utils

    master, queries = plain
    keys = [key for key, _ in master]
    choices = [utils.default_process(text) for _, text in master]
    best = []
    started = time.perf_counter()
    for query_key, text in queries:
        found = process.extractOne(
            utils.default_process(text), choices, scorer=fuzz.token_set_ratio, processor=None
        )
        if found:
            best.append((query_key, found[1], keys[found[2]]))
    return best, len(queries) / (time.perf_counter() - started)


def sweep(best, truth):
    """(threshold, precision, recall, F1) at every threshold, and the row of the best F1."""
    rows = []
    for threshold in THRESHOLDS:
        accepted = [(q, found) for q, score, found in best if score >= threshold]
        correct = sum(1 for q, found in accepted if truth.get(q) == found)
        precision = correct / len(accepted) if accepted else 0.0
        recall = correct / len(truth)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append((threshold, precision, recall, f1))
    return rows, max(rows, key=lambda row: (row[3], row[0]))


def evaluate(name, loader, target):
    from xref import matching

    master, queries, truth, plain = loader()
    started = time.perf_counter()
    keys = load_master(master)
    print(
        f"{name}: {len(master):,} master records loaded and indexed in "
        f"{time.perf_counter() - started:.0f} s; {len(queries):,} queries"
    )
    best = []
    started = time.perf_counter()
    for query_key, params in queries:
        q = params.pop("q")
        fields = {field: value for field, value in params.items() if value}
        candidates = matching.match("item", q, limit=1, **fields)
        if candidates:
            best.append((query_key, candidates[0].score, keys[candidates[0].id]))
    qps = len(queries) / (time.perf_counter() - started)
    rows, (threshold, precision, recall, f1) = sweep(best, truth)
    print(f"{name}: the brute-force floor (every master record, plain rapidfuzz)...")
    floor_best, floor_qps = brute_force(plain)
    floor_rows, floor = sweep(floor_best, truth)
    shown = set(SHOWN) | {threshold, floor[0]}
    common.print_table(
        f"{name} (ground truth: {len(truth):,} pairs): match() beside the brute-force floor",
        ["threshold", "precision", "recall", "F1", "floor P", "floor R", "floor F1"],
        [
            (*ours, *plain_row[1:])
            for ours, plain_row in zip(rows, floor_rows, strict=True)
            if ours[0] in shown
        ],
    )
    common.print_table(
        f"{name}: best thresholds",
        ["method", "threshold", "precision", "recall", "F1", "queries/s"],
        [
            ("match() (identifiers, index, rapidfuzz)", threshold, precision, recall, f1, qps),
            ("floor: plain rapidfuzz, no blocking", *floor, floor_qps),
        ],
    )
    figures = {
        "threshold": threshold,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "queries_per_second": round(qps, 1),
        "queries": len(queries),
        "master_records": len(master),
        "floor": {
            "method": "process.extractOne token_set_ratio default_process, no blocking",
            "threshold": floor[0],
            "precision": round(floor[1], 4),
            "recall": round(floor[2], 4),
            "f1": round(floor[3], 4),
            "queries_per_second": round(floor_qps, 1),
        },
    }
    return figures, common.check(f"{name} F1", f1, target, higher_is_better=True)


def main():
    sys.stdout.reconfigure(line_buffering=True)
    if not (ERDATA / "README.md").exists():
        print(
            f"The entity-resolution data is missing: expected {ERDATA} (the shared/ folder "
            "beside the project, or BENCH_ERDATA). Cannot measure match quality.",
            file=sys.stderr,
        )
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="hub-match-quality-"))
    try:
        os.environ.update(common.server_env(f"sqlite:///{workdir / 'quality.sqlite3'}"))
        os.environ["HUB_VAR_DIR"] = str(workdir)
        sys.path.insert(0, str(common.ROOT))
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", interactive=False, verbosity=0)
        wa, wa_check = evaluate("Walmart-Amazon", walmart_amazon, 0.80)
        ab, ab_check = evaluate("Abt-Buy", abt_buy, 0.85)
        from django.db import connection

        connection.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return common.finish(
        "match_quality",
        {"database": "sqlite", "walmart_amazon": wa, "abt_buy": ab},
        [wa_check, ab_check],
    )


if __name__ == "__main__":
    sys.exit(main())

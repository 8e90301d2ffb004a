"""Duplicate detection (`xref.duplicates`): its quality on a public dedupe set, and a full run
over generated suppliers on real Celery workers.

1. Chicago early childhood (../shared/erdata, dedupe-examples), on a throwaway SQLite
   database, Celery eager: the 3,337 sites loaded as locations (name, address, ZIP) and as
   suppliers (name alone), a full run over each kind (`duplicates.full_run`), and the
   clusters at the documented *sure* threshold (`calibration.SURE`) scored PAIRWISE against
   the True Id clusters: every pair inside a predicted cluster against every pair inside a
   true one (precision, recall, F1). Beside it, the floor in the same run: plain rapidfuzz
   with no blocking, each site's best other site by token_set_ratio (after
   default_process) over name and address (suppliers: name), pairs at >= 90 joined into
   clusters the same way (union-find). Also printed: the pairs at sure scored as they are,
   before clustering joins them (how much chaining costs), the clusters at WORTH_A_LOOK,
   and the floor at its best threshold. Target: locations F1 >= 0.90 at sure.
2. A full run at scale on PostgreSQL: N generated suppliers (names as bench_match.py makes
   them), about 1% of them planted duplicates (a second record of a supplier with its name
   perturbed: a typo, the legal form changed or dropped, or the word order changed; same
   country). The suppliers are indexed (`xref.matching.rebuild`), then
   `full_run("supplier")` is processed by `celery worker --pool=solo` processes on Redis,
   first 1 then 2 (the pairs emptied before each), timed from the call that starts the run
   until its DuplicateRun is finished. Printed: both times, the speed-up, each worker's peak
   memory (its own VmHWM, as bench_validation.py measures it), the share of the run each
   worker was busy on a CPU (the rest it waited, mostly on PostgreSQL), the load average,
   and the recall of the planted pairs at WORTH_A_LOOK and at SURE. The floor: the same
   check (`duplicates.check`) in this process, no Celery, over a sample of 2,000 records,
   its time extrapolated to N (an extrapolation, said so where printed). Targets: 2
   workers <= 10 minutes, each worker's peak memory <= 1 GiB.

    .venv/bin/python bench/bench_duplicates.py [chicago] [scale]     (default: both)

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/
hub_bench_duplicates, created and migrated when missing; part 2 is skipped, saying why, when
PostgreSQL or Redis cannot be reached); BENCH_BROKER_URL (default redis://127.0.0.1:6379/12,
given to the workers as CELERY_BROKER_URL); BENCH_DUP_SUPPLIERS (default 200,000);
BENCH_DUP_WAIT (seconds a run may take, default 7,200); BENCH_ERDATA (default
../shared/erdata); BENCH_STRICT=1 to exit 1 on a missed target.

The duplicate tasks go to HUB_DUPLICATES_QUEUE, which the bench sets to a queue of its own
that its workers consume; it stops when tasks already wait there (they would be someone
else's). Each part runs in a child process of its own (this script, `--child`), since Django
is set up once per process: SQLite for part 1, PostgreSQL for part 2.
"""

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

import common

SEED = 20261205
SUPPLIERS = int(os.getenv("BENCH_DUP_SUPPLIERS", "200000"))
PLANTED_SHARE = 0.01  # of the records, a second record of a supplier
SAMPLE = 2000  # records the in-process floor checks
WORKER_COUNTS = (1, 2)
BROKER = os.getenv("BENCH_BROKER_URL") or "redis://127.0.0.1:6379/12"
QUEUE = "bench-duplicates"  # HUB_DUPLICATES_QUEUE of the run and its workers
WAIT_SECONDS = int(os.getenv("BENCH_DUP_WAIT", "7200"))
FLOOR_THRESHOLD = 90
TARGET_F1 = 0.90
TARGET_SECONDS = 600
TARGET_MEMORY_MIB = 1024
ERDATA = Path(os.getenv("BENCH_ERDATA") or common.ROOT.parent / "shared" / "erdata")


# --- shared: clusters, pairwise scores, waiting for a run -----------------------------------


def union_find(edges):
    """The groups (sets) that `edges` (pairs of keys) join; keys in no edge are left out."""
    parent = {}

    def root(key):
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for a, b in edges:
        first, second = root(a), root(b)
        if first != second:
            parent[max(first, second)] = min(first, second)
    groups = {}
    for key in parent:
        groups.setdefault(root(key), set()).add(key)
    return list(groups.values())


def within(groups):
    """Every pair (in order) of keys inside one group."""
    return {pair for group in groups for pair in combinations(sorted(group), 2)}


def pairwise(predicted, truth, pairs=None):
    """Pairwise precision, recall and F1 of the `predicted` clusters (sets of keys) against
    the `truth` clusters: every pair inside a predicted cluster against every pair inside a
    true one. With `pairs` (ordered key pairs), those pairs are scored instead of the
    clusters' (what the pairs say before clustering joins them)."""
    found, wanted = pairs if pairs is not None else within(predicted), within(truth)
    right = len(found & wanted)
    precision = right / len(found) if found else 0.0
    recall = right / len(wanted) if wanted else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "clusters": len(predicted),
        "largest": max((len(group) for group in predicted), default=0),
        "pairs": len(found),
        "true_pairs": len(wanted),
        "right": right,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
    }


def wait_for_run(run_id, workers=(), label=""):
    """The DuplicateRun once it is no longer running (progress printed every 30 s);
    SystemExit when it failed, a worker died, or it took longer than WAIT_SECONDS."""
    from xref.models import DuplicateRun

    deadline = time.monotonic() + WAIT_SECONDS
    said = time.monotonic()
    while True:
        run = DuplicateRun.objects.get(pk=run_id)
        if run.status == DuplicateRun.Status.FAILED:
            raise SystemExit(f"Duplicate run {run_id} failed: {run.message}")
        if run.status == DuplicateRun.Status.FINISHED:
            return run
        if time.monotonic() > deadline:
            raise SystemExit(
                f"Duplicate run {run_id} not finished after {WAIT_SECONDS} s: "
                f"{run.chunks_done}/{run.chunks_total} chunks"
            )
        common.check_alive(workers)
        if time.monotonic() - said >= 30:
            print(f"  {label}{run.chunks_done}/{run.chunks_total} chunks done")
            said = time.monotonic()
        time.sleep(0.2)


def cpu_seconds(pid):
    """CPU time (user and system) a process has used so far, from /proc/<pid>/stat; NaN
    once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _in_child(part, *args):
    """Run a part in a child process of its own (Django is set up once per process: SQLite
    for one part, PostgreSQL for the other); its figures come back through a JSON file. A
    child that fails (setup, a worker died) stops the bench with its message."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        done = subprocess.run(
            [sys.executable, __file__, "--child", part, out.name, *args], check=False
        )
        if done.returncode:
            raise SystemExit(f"The {part} part failed (exit {done.returncode}); see above.")
        return json.loads(Path(out.name).read_text(encoding="utf-8"))


def _child(part, out, *args):
    figures = {"chicago": chicago_part, "scale": scale_part}[part](*args)
    Path(out).write_text(json.dumps(figures), encoding="utf-8")
    return 0


# --- 1. Chicago early childhood, SQLite, Celery eager ---------------------------------------


def chicago_part():
    """Both kinds loaded, a full run over each, clusters at SURE scored; the floor beside."""
    workdir = Path(tempfile.mkdtemp(prefix="hub-bench-duplicates-"))
    try:
        os.environ.update(common.server_env(f"sqlite:///{workdir / 'duplicates.sqlite3'}"))
        os.environ["HUB_VAR_DIR"] = str(workdir)
        # No broker: the run's tasks are eager, in this process.
        for name in ("CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER"):
            os.environ.pop(name, None)
        sys.stdout.reconfigure(line_buffering=True)
        sys.path.insert(0, str(common.ROOT))
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", interactive=False, verbosity=0)
        import bench_match_quality

        sites = bench_match_quality.chicago("location")
        keys = load_chicago(sites.master)
        # The True Id clusters, as sets of site Ids (singletons too: they hold no pair).
        truth = list({frozenset({site, *others}) for site, others in sites.truth.items()})
        results = {}
        for kind in ("location", "supplier"):
            data = bench_match_quality.chicago(kind)
            results[kind] = chicago_kind(kind, data, keys[kind], truth)
        from django.db import connection

        connection.close()
        return {"sites": len(sites.master), **results}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def load_chicago(master):
    """The sites as locations (name, address, ZIP) and as suppliers (name), indexed; returns
    {kind: {public id: site Id}}."""
    from mdm.models import Location, Supplier
    from xref import matching

    started = time.perf_counter()
    locations, suppliers = [], []
    keys = {"location": {}, "supplier": {}}
    for n, site in enumerate(master, start=1):
        location_id, supplier_id = f"LOC-{n:06d}", f"SUP-{n:06d}"
        keys["location"][location_id] = keys["supplier"][supplier_id] = site["key"]
        locations.append(
            Location(
                public_id=location_id,
                code=f"CHI{n:06d}",
                kind=Location.Kind.PLANT,
                country="US",
                name=site["name"][:200],
                address=site["address"][:250],
                postal_code=site["postal_code"][:20],
            )
        )
        suppliers.append(
            Supplier(
                public_id=supplier_id, number=f"CHI{n:06d}", name=site["name"][:200], country="US"
            )
        )
    # bulk_create sends no signals: no check is queued per record, the index is built below.
    Location.objects.bulk_create(locations, batch_size=2000)
    Supplier.objects.bulk_create(suppliers, batch_size=2000)
    matching.rebuild(["location", "supplier"])
    print(
        f"Chicago: {len(master):,} sites loaded as locations and as suppliers, indexed in "
        f"{time.perf_counter() - started:.1f} s"
    )
    return keys


def chicago_kind(kind, data, keys, truth):
    """One kind: the full run (eager), its clusters at SURE and WORTH_A_LOOK, the floor."""
    from xref import duplicates
    from xref.matching.calibration import SURE, WORTH_A_LOOK
    from xref.models import DuplicatePair

    started = time.perf_counter()
    run = duplicates.full_run(kind)
    run = wait_for_run(run.pk, label=f"{kind}s: ")
    seconds = time.perf_counter() - started
    ours = {}
    for label, threshold in (("sure", SURE), ("worth_a_look", WORTH_A_LOOK)):
        predicted = [
            {keys[public_id] for public_id in cluster.records}
            for cluster in duplicates.clusters(kind, threshold)
        ]
        ours[label] = {"threshold": threshold, **pairwise(predicted, truth)}
    # The pairs at SURE themselves: what clustering (A~B, B~C: one cluster) adds or takes.
    pairs = DuplicatePair.objects.filter(kind=kind, score__gte=SURE).values_list(
        "record_a", "record_b"
    )
    kept = {tuple(sorted((keys[a], keys[b]))) for a, b in pairs}
    ours["sure_pairs"] = {"threshold": SURE, **pairwise(union_find(kept), truth, kept)}
    print(
        f"Chicago as {kind}s: full run over {len(keys):,} records in {seconds:.1f} s "
        f"({run.chunks_total} chunks, {run.pairs_found:,} pairs kept)"
    )
    floor = chicago_floor(data, truth)
    print(f"Chicago as {kind}s: floor (rapidfuzz, no blocking) in {floor['seconds']:.1f} s")
    return {
        "seconds": round(seconds, 2),
        "pairs_kept": run.pairs_found,
        "chunks": run.chunks_total,
        **ours,
        "floor": floor,
    }


def chicago_floor(data, truth):
    """Plain rapidfuzz: each site's best other site (bench_match_quality.brute_force, every
    site compared, its own left out), pairs at >= FLOOR_THRESHOLD joined by union-find;
    pairwise scores at that threshold and at the floor's best one."""
    import bench_match_quality

    started = time.perf_counter()
    best, _ = bench_match_quality.brute_force(data.plain)

    def scored(threshold):
        edges = [(query, found) for query, score, found in best if score >= threshold]
        return {"threshold": threshold, **pairwise(union_find(edges), truth)}

    at_floor = scored(FLOOR_THRESHOLD)
    seconds = time.perf_counter() - started
    best_row = max(
        (scored(t) for t in range(50, 101)), key=lambda row: (row["f1"], row["threshold"])
    )
    return {"seconds": round(seconds, 2), "at_90": at_floor, "best": best_row}


def report_chicago(figures):
    rows = []
    for kind in ("location", "supplier"):
        f = figures[kind]
        floor = f["floor"]
        for label, row, seconds in (
            ("full run, clusters at sure", f["sure"], f["seconds"]),
            ("full run, pairs at sure (unclustered)", f["sure_pairs"], f["seconds"]),
            ("full run, clusters at worth a look", f["worth_a_look"], f["seconds"]),
            ("floor: rapidfuzz at 90", floor["at_90"], floor["seconds"]),
            ("floor: rapidfuzz, best T", floor["best"], floor["seconds"]),
        ):
            rows.append(
                (
                    f"{kind}s",
                    label,
                    row["threshold"],
                    row["clusters"],
                    row["largest"],
                    row["pairs"],
                    row["true_pairs"],
                    row["precision"],
                    row["recall"],
                    row["f1"],
                    seconds,
                )
            )
    common.print_table(
        f"Chicago early childhood ({figures['sites']:,} sites): pairwise scores of the clusters",
        ["as", "method", "T", "clusters", "largest", "pairs", "true", "P", "R", "F1", "s"],
        rows,
    )
    return [
        common.check(
            "Chicago locations, pairwise F1 at sure",
            figures["location"]["sure"]["f1"],
            TARGET_F1,
            higher_is_better=True,
        )
    ]


# --- 2. a full run at scale, PostgreSQL and Celery workers ----------------------------------


def legal_form(name):
    """The legal form a generated name ends with, or ""."""
    import bench_match

    for form in sorted(bench_match.FORMS, key=len, reverse=True):
        if name.endswith(" " + form):
            return form
    return ""


def perturb(rng, name):
    """Another record's spelling of the same supplier: a typo, the legal form changed or
    dropped, or the word order changed."""
    import bench_match

    form = legal_form(name)
    words = (name[: -len(form)] if form else name).split()
    how = rng.choice(("typo", "form", "order"))
    long_words = [i for i, word in enumerate(words) if len(word) >= 4]
    if how == "order" and len(words) < 2 or how == "typo" and not long_words:
        how = "form"
    if how == "typo":
        j = rng.choice(long_words)
        words[j] = bench_match.typo(rng, words[j])
    elif how == "form":
        form = rng.choice([f for f in ("", *bench_match.FORMS) if f != form])
    elif "&" in words:
        i = words.index("&")
        words = words[i + 1 :] + ["&"] + words[:i]
    else:
        words = words[1:] + words[:1]
    return " ".join(words + ([form] if form else []))


def generate():
    """[(name, country)] of every supplier in id order (the planted copies among them), and
    the planted pairs as (record number, record number), 1-based."""
    import bench_match

    rng = random.Random(SEED)
    planted = round(SUPPLIERS * PLANTED_SHARE / (1 + PLANTED_SHARE))
    seen, rows = set(), []
    while len(rows) < SUPPLIERS - planted:
        name = bench_match.supplier_name(rng)
        if name not in seen:
            seen.add(name)
            rows.append((name, rng.choice(bench_match.COUNTRIES), len(rows)))
    for original in rng.sample(range(len(rows)), planted):
        name, country, group = rows[original]
        copy = perturb(rng, name)
        while copy in seen:  # a perturbation that made another supplier's name, or none
            copy = perturb(rng, name)
        seen.add(copy)
        rows.append((copy, country, group))
    rng.shuffle(rows)  # the copies spread over the ids, as records onboarded at any time
    members = {}
    for n, (_, _, group) in enumerate(rows, start=1):
        members.setdefault(group, []).append(n)
    pairs = sorted(tuple(numbers) for numbers in members.values() if len(numbers) == 2)
    return [(name, country) for name, country, _ in rows], pairs


def public_id(n):
    return f"SUP-{n:07d}"


def dataset_params():
    from xref import matching

    return {
        "seed": SEED,
        "suppliers": SUPPLIERS,
        "planted_share": PLANTED_SHARE,
        "index": matching.INDEX_VERSION,
        "version": 1,
    }


def load(names):
    """The suppliers by COPY, then the match index by the service (`matching.rebuild`)."""
    from django.db import connection, transaction

    from mdm.models import IdSequence, Supplier
    from xref import matching
    from xref.models import MatchKey

    started = time.perf_counter()
    print("generating the suppliers (once; reused while seed, size and index stay the same)...")
    common.forget_dataset("duplicates")
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE mdm_supplier RESTART IDENTITY CASCADE")
            cursor.execute(f"TRUNCATE {MatchKey._meta.db_table}")
        with common.bulk_load(Supplier):
            rows = (
                (n, public_id(n), f"D{n:07d}", name, country)
                for n, (name, country) in enumerate(names, start=1)
            )
            common.copy_rows(Supplier, rows, ["id", "public_id", "number", "name", "country"])
        IdSequence.objects.update_or_create(prefix="SUP", defaults={"last": len(names)})
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('mdm_supplier', 'id'), {len(names)})"
            )
    print(f"  {len(names):,} suppliers in {time.perf_counter() - started:.0f} s")
    indexing = time.perf_counter()
    (records, keys) = matching.rebuild(["supplier"])["supplier"]
    index_seconds = time.perf_counter() - indexing
    print(
        f"  indexed by matching.rebuild: {records:,} records, {keys:,} keys, {index_seconds:.0f} s"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {MatchKey._meta.db_table}")
        cursor.execute("VACUUM ANALYZE mdm_supplier")
    common.mark_dataset("duplicates", dataset_params())
    return {"load_seconds": round(time.perf_counter() - started, 1), "index_seconds": index_seconds}


def forget_pairs():
    """No pairs, no pair history and no runs of suppliers: each run starts from nothing."""
    from django.db import connection

    from xref.models import DuplicatePair, DuplicateRun

    with connection.cursor() as cursor:
        for model in (DuplicatePair, DuplicatePair.history.model, DuplicateRun):
            cursor.execute(f"TRUNCATE {model._meta.db_table}")


def found_pairs():
    """{(record a, record b): score} of every supplier pair kept."""
    from xref.models import DuplicatePair

    rows = DuplicatePair.objects.filter(kind="supplier").values_list(
        "record_a", "record_b", "score"
    )
    return {(a, b): score for a, b, score in rows}


def recall(planted, found, threshold, among=None):
    """The share of the planted pairs (those with a record in `among`, when given) kept at
    `threshold` or above."""
    wanted = [
        (public_id(a), public_id(b))
        for a, b in planted
        if among is None or a in among or b in among
    ]
    hit = sum(1 for pair in wanted if found.get(pair, -1) >= threshold)
    return round(hit / len(wanted), 4) if wanted else float("nan")


def floor_sample(planted):
    """The floor: `duplicates.check` of SAMPLE records in this process, one after the other,
    no Celery; its time extrapolated to every record."""
    from xref import duplicates
    from xref.matching.calibration import SURE, WORTH_A_LOOK

    forget_pairs()
    sample = sorted(random.Random(SEED + 1).sample(range(1, SUPPLIERS + 1), min(SAMPLE, SUPPLIERS)))
    started = time.perf_counter()
    for n in sample:
        duplicates.check("supplier", public_id(n))
    seconds = time.perf_counter() - started
    found, among = found_pairs(), set(sample)
    per_record = seconds / len(sample)
    return {
        "sample": len(sample),
        "seconds": round(seconds, 1),
        "ms_per_record": round(per_record * 1000, 2),
        "extrapolated_seconds_1_process": round(per_record * SUPPLIERS, 1),
        "extrapolated_seconds_2_processes": round(per_record * SUPPLIERS / 2, 1),
        "recall_worth_a_look": recall(planted, found, WORTH_A_LOOK, among),
        "recall_sure": recall(planted, found, SURE, among),
        "process_peak_mib": round(common.peak_memory_mib(os.getpid()), 1),
    }


def celery_run(url, count, planted):
    """`full_run("supplier")` processed by `count` workers: seconds from the call until the
    run is finished, the run's own times, each worker's peak memory, the pairs kept."""
    import redis

    from xref import duplicates
    from xref.matching.calibration import SURE, WORTH_A_LOOK

    forget_pairs()
    waiting = redis.Redis.from_url(BROKER).llen(QUEUE)
    if waiting:
        raise SystemExit(
            f"{waiting} tasks already wait in the queue {QUEUE!r} on {BROKER}: not ours, and "
            "the workers would run them. Empty it, or use another BENCH_BROKER_URL."
        )
    env = common.server_env(url)
    env.update(
        CELERY_BROKER_URL=BROKER,
        CELERY_TASK_ALWAYS_EAGER="0",
        HUB_DUPLICATES_QUEUE=QUEUE,
        HUB_LOG_FORMAT="text",
        HUB_LOG_LEVEL="WARNING",
    )
    print(f"full run on {count} worker(s) (celery worker --pool=solo, {BROKER}, queue {QUEUE})")
    workers = common.start_celery_workers(env, QUEUE, count, "--pool=solo")
    try:
        serving = [p for w in workers for p in common.serving_peaks_mib(w.pid)]
        cpu_before = [cpu_seconds(pid) for pid in serving]
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        run = duplicates.full_run("supplier")
        run = wait_for_run(run.pk, workers, label=f"{count} worker(s): ")
        seconds = time.perf_counter() - started
        memory = [m for w in workers for m in common.serving_peaks_mib(w.pid).values()]
        # How busy each worker was: the rest of the time it waited (on PostgreSQL, mostly).
        busy = [
            (cpu_seconds(pid) - before) / seconds
            for pid, before in zip(serving, cpu_before, strict=True)
        ]
        load_after = os.getloadavg()[0]
    finally:
        common.stop_processes(workers)
    found = found_pairs()
    planted_ids = {(public_id(a), public_id(b)) for a, b in planted}
    result = {
        "workers": count,
        "seconds": round(seconds, 1),
        "run_seconds": round((run.finished_at - run.started_at).total_seconds(), 1),
        "chunks": run.chunks_total,
        "records_per_second": round(SUPPLIERS / seconds, 1),
        "pairs_kept": len(found),
        "pairs_found_by_run": run.pairs_found,
        "pairs_at_sure": sum(1 for score in found.values() if score >= SURE),
        "unplanted_at_sure": sum(
            1 for pair, score in found.items() if score >= SURE and pair not in planted_ids
        ),
        "recall_worth_a_look": recall(planted, found, WORTH_A_LOOK),
        "recall_sure": recall(planted, found, SURE),
        "memory_mib": [round(m, 1) for m in memory],
        "worker_cpu_share": [round(share, 3) for share in busy],
        "load_average_1min": [round(load_before, 2), round(load_after, 2)],
    }
    print(
        f"  finished in {seconds:.1f} s ({result['records_per_second']:,.0f} records/s), "
        f"{len(found):,} pairs kept; peak memory per worker "
        f"{', '.join(f'{m:.0f} MiB' for m in memory)}; CPU busy per worker "
        f"{', '.join(f'{share:.0%}' for share in busy)}; load average {load_before:.1f} "
        f"before, {load_after:.1f} after"
    )
    return result, found


def scale_part(url):
    """Generate and load (once), the floor over a sample, then the run on 1 and 2 workers."""
    os.environ["CELERY_BROKER_URL"] = BROKER
    os.environ["HUB_DUPLICATES_QUEUE"] = QUEUE  # the run's tasks go where its workers read
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"  # this process sends; the workers run
    common.setup(url)
    names, planted = generate()
    print(f"{len(names):,} suppliers, {len(planted):,} planted duplicate pairs")
    setup = None
    if not common.dataset_matches("duplicates", dataset_params()):
        setup = load(names)
    del names
    print(f"floor: duplicates.check over a sample of {min(SAMPLE, SUPPLIERS):,} records...")
    floor = floor_sample(planted)
    print(f"  {floor['seconds']:.1f} s, {floor['ms_per_record']:.1f} ms a record")
    runs, found = [], []
    for count in WORKER_COUNTS:
        result, pairs = celery_run(url, count, planted)
        runs.append(result)
        found.append(pairs)
    first, last = found[0], found[-1]
    differ = set(first) ^ set(last)
    rescored = sum(1 for pair in set(first) & set(last) if first[pair] != last[pair])
    from django.db import connection

    connection.close()
    return {
        "suppliers": SUPPLIERS,
        "cpus": os.cpu_count(),
        "planted_pairs": len(planted),
        "setup": setup,
        "floor": floor,
        "runs": runs,
        "pairs_only_in_one_run": len(differ),
        "pairs_scored_differently": rescored,
    }


def report_scale(figures):
    floor, runs = figures["floor"], figures["runs"]
    by_count = {run["workers"]: run for run in runs}
    one, two = by_count[1], by_count[2]
    speed_up = one["seconds"] / two["seconds"]
    rows = [
        (
            f"floor: check() in 1 process, {floor['sample']:,}-record sample, "
            f"extrapolated to {figures['suppliers']:,}",
            floor["extrapolated_seconds_1_process"],
            "",
            floor["recall_worth_a_look"],
            floor["recall_sure"],
            floor["process_peak_mib"],
        ),
        (
            "floor extrapolated, halved (2 processes, ideal)",
            floor["extrapolated_seconds_2_processes"],
            "",
            "",
            "",
            "",
        ),
    ]
    for run in runs:
        rows.append(
            (
                f"full run, {run['workers']} celery worker(s)",
                run["seconds"],
                run["pairs_kept"],
                run["recall_worth_a_look"],
                run["recall_sure"],
                max(run["memory_mib"]),
            )
        )
    common.print_table(
        f"Full duplicate run over {figures['suppliers']:,} suppliers, "
        f"{figures['planted_pairs']:,} planted pairs (PostgreSQL, Redis)",
        ["path", "seconds", "pairs kept", "recall >= 20", "recall >= 90", "peak MiB"],
        rows,
    )
    print(
        f"speed-up from 1 to 2 workers: {speed_up:.2f}x on {os.cpu_count()} CPUs shared with "
        f"PostgreSQL (worker CPU busy: 1 worker {one['worker_cpu_share']}, 2 workers "
        f"{two['worker_cpu_share']}; load average before/after: {one['load_average_1min']}, "
        f"{two['load_average_1min']})"
    )
    print(
        f"pairs kept by one run and not the other: {figures['pairs_only_in_one_run']:,}; "
        f"kept by both with another score: {figures['pairs_scored_differently']:,}; "
        f"pairs at sure that were not planted (2 workers): {two['unplanted_at_sure']:,}"
    )
    if figures["suppliers"] != 200_000:
        scaled = two["seconds"] * 200_000 / figures["suppliers"]
        print(
            f"at {figures['suppliers']:,} suppliers, not the target's 200,000: 2 workers "
            f"extrapolated linearly to 200,000 would take {scaled:,.0f} s (an extrapolation)"
        )
    figures["speed_up"] = round(speed_up, 2)
    n = f"{figures['suppliers']:,}"
    checks = [
        common.check(f"full run, {n} suppliers, 2 workers, s", two["seconds"], TARGET_SECONDS)
    ]
    checks += [
        common.check(f"2 workers: worker {i} peak memory, MiB", memory, TARGET_MEMORY_MIB)
        for i, memory in enumerate(two["memory_mib"], start=1)
    ]
    return checks


def unavailable(url):
    """Why part 2 cannot run (PostgreSQL or Redis unreachable), or None."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg
    import redis

    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        return f"it needs PostgreSQL; BENCH_DATABASE_URL is {url!r}"
    try:
        maintenance = urlunsplit(parts._replace(path="/postgres"))
        psycopg.connect(maintenance, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        return f"no PostgreSQL at {maintenance} ({exc})".strip()
    try:
        redis.Redis.from_url(BROKER, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return f"no Redis at {BROKER} ({exc})"
    return None


def main():
    sys.stdout.reconfigure(line_buffering=True)
    if sys.argv[1:2] == ["--child"]:
        return _child(*sys.argv[2:])
    parts = sys.argv[1:] or ["chicago", "scale"]
    unknown = set(parts) - {"chicago", "scale"}
    if unknown:
        print(f"Unknown part {sorted(unknown)}; say chicago, scale or both.", file=sys.stderr)
        return 2
    figures, checks = {}, []
    if "chicago" in parts:
        if not (ERDATA / "chicago_early_childhood").exists():
            print(f"Chicago part skipped: the data is missing from {ERDATA} (BENCH_ERDATA).")
            figures["chicago"] = {"skipped": f"no data at {ERDATA}"}
        else:
            figures["chicago"] = _in_child("chicago")
            checks += report_chicago(figures["chicago"])
    if "scale" in parts:
        url = common.database_url("hub_bench_duplicates")
        reason = unavailable(url)
        if reason:
            print(f"Full run at scale skipped: {reason}.")
            figures["scale"] = {"skipped": reason}
        else:
            figures["scale"] = _in_child("scale", url)
            checks += report_scale(figures["scale"])
    if not checks:  # every part skipped: nothing measured, nothing missed
        path = common.write_results("duplicates", {"benchmark": "duplicates", "figures": figures})
        print(f"\nNo target measured; wrote {path.relative_to(common.ROOT)}")
        return 0
    return common.finish("duplicates", figures, checks)


if __name__ == "__main__":
    sys.exit(main())

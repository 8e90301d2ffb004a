"""Match over 1,000,000 generated supplier names on PostgreSQL:

- latency of `xref.matching.match("supplier", q)` in a serving process (the service call with
  its SQL, as a web worker makes it, after a warm-up): p50 and p99 over misspelled, partial
  and re-cased names of existing suppliers. Target p50 <= 50 ms.
- recall@5 of the candidate search against a brute-force rapidfuzz scan: `process.extract`
  of the search's scorer (WRatio) over all 1,000,000 normalised names, for 100 queries,
  beside the 5 best names by WRatio among the candidates match() compares (the probability
  ranks them by every field, so its own order is not the scan's). Ties are common (many
  names score the same against a short query), so the target figure counts rank by rank:
  rank i is found when our i-th score is at least the scan's i-th score. Also printed: the share of
  the scan's top-5 ids we return, how often the scan's best score is in our top 5, and how
  often the supplier a query was made from is. Target >= 0.98.
- peak memory of each serving process, its own (VmHWM; ru_maxrss would count what the
  process it was started from held). Target <= 1 GiB.

    .venv/bin/python bench/bench_match.py        (make bench runs every bench_*.py)

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/hub_bench_match,
created and migrated when missing); BENCH_MATCH_SUPPLIERS (generated names, default
1,000,000); BENCH_MATCH_QUERIES (latency queries, default 1000);
BENCH_MATCH_RECALL (recall queries, default 100); BENCH_STRICT=1 to exit 1 on a missed
target.

The names come from a seeded generator (coined brand words, surnames, places, trades, legal
forms), are loaded with COPY and indexed by the service's own key functions (also with COPY),
once; both are reused while the marker in the database says the same seed, size and index
version.
"""

import multiprocessing
import os
import random
import sys
import time

import common

SEED = 20261127
SUPPLIERS = int(os.getenv("BENCH_MATCH_SUPPLIERS", "1000000"))
LATENCY_QUERIES = int(os.getenv("BENCH_MATCH_QUERIES", "1000"))
RECALL_QUERIES = int(os.getenv("BENCH_MATCH_RECALL", "100"))
WARM_UP = 200
TOP = 5

# --- generated supplier names -------------------------------------------------------------


def words(text, sep=None):
    return text.split(sep)


ONSETS = words("b c d f g h k l m n p r s t v w z br cr dr fr gr kr pr tr st sk sl sp ch sh th")
VOWELS = words("a e i o u a e i o ei au ia")
CODAS = ["", "", "", "n", "r", "s", "l", "k", "x", "m", "t", "nd", "rk", "st"]
SUFFIXES = ["", "", "", "ex", "ix", "on", "tec", "tron", "ia", "ar", "ium", "ova", "berg", "sen"]
SURNAMES = words(
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Hoffmann Koch Richter Klein Wolf "
    "Schröder Neumann Braun Zimmermann Hartmann Krüger Lange Rossi Russo Ferrari Esposito Bianchi "
    "Romano Colombo Ricci Marino Greco Bruno Gallo Conti Martin Bernard Dubois Thomas Robert "
    "Richard Petit Durand Leroy Moreau Simon Laurent Lefebvre Michel Garcia Fernandez Lopez "
    "Martinez Sanchez Perez Gomez Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson "
    "Taylor Moore Jackson Harris Clark Lewis Walker Hall Allen Young King Wright Scott Green Baker "
    "Adams Nelson Hill Campbell Mitchell Roberts Carter Phillips Evans Turner Torres Parker "
    "Collins Edwards Stewart Nowak Kowalski Wiśniewski Wójcik Kowalczyk Novák Svoboda Dvořák Nagy "
    "Kovács Tóth Szabó Horváth Jensen Nielsen Hansen Pedersen Andersen Larsen Johansson Karlsson "
    "Nilsson Eriksson Larsson Virtanen Korhonen Mäkinen Nieminen Tanaka Suzuki Takahashi Watanabe "
    "Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Kim Lee Park Choi Jung Kang Cho Yoon Singh "
    "Kumar Sharma Patel Gupta"
)
PLACES = words(
    "Nordic Baltic Pacific Atlantic Alpine Rhein Danube Bavaria Saxon Midland Northern Southern "
    "Eastern Western Central Coastal Highland Lakeside Riverside Valley Summit Shenzhen Ningbo "
    "Suzhou Dongguan Tianjin Lombardia Piemonte Silesia Bohemia Moravia Flanders Brabant Ruhr "
    "Carolina Ohio Texas Ontario Quebec Kyushu Osaka Pune Chennai Anatolia Iberia Gallic Celtic"
)
TRADES = words(
    "Precision Castings Forgings Plastics Polymers Electronics Components Machining Fasteners "
    "Bearings Hydraulics Pneumatics Logistics Packaging Chemicals Coatings Steel Metals Alloys "
    "Tooling Automation Robotics Sensors Cables Wire Springs Gears Valves Pumps Motors Drives "
    "Textiles Rubber Glass Ceramics Composites Foundry Stamping Extrusion Moulding Welding "
    "Fabrication Engineering Instruments Optics Filters Seals Gaskets Pipes Tubes Paints "
    "Adhesives Lubricants Abrasives Batteries Magnets Semiconductors Circuits Connectors "
    "Transformers"
)
GENERIC = words(
    "Industries Group Manufacturing Works Solutions Systems Technologies International Holdings "
    "Trading Supply Products Enterprises Partners Industrial Technik Werke Fabrik Services"
)
FORMS = words(
    "GmbH|AG|GmbH & Co. KG|KG|Ltd|Ltd.|Limited|Inc.|Inc|LLC|Corp.|Corporation|S.A.|S.p.A.|"
    "S.r.l.|SAS|SARL|B.V.|N.V.|Oy|AB|A/S|Sp. z o.o.|s.r.o.|Kft.|Co., Ltd.|Pty Ltd|PLC",
    "|",
)
COUNTRIES = words("DE DE DE US US US CN CN IT FR ES PL CZ NL SE FI DK GB JP KR IN HU AT CH")


def coined(rng):
    syllables = rng.choice((1, 2, 2, 2, 3))
    word = "".join(rng.choice(ONSETS) + rng.choice(VOWELS) for _ in range(syllables))
    return (word + rng.choice(CODAS) + rng.choice(SUFFIXES)).capitalize()


def supplier_name(rng):
    pattern = rng.random()
    if pattern < 0.30:
        parts = [coined(rng), rng.choice(TRADES)]
    elif pattern < 0.50:
        parts = [rng.choice(SURNAMES), rng.choice(TRADES), rng.choice(GENERIC)]
    elif pattern < 0.65:
        parts = [rng.choice(PLACES), coined(rng), rng.choice(TRADES)]
    elif pattern < 0.75:
        parts = [rng.choice(SURNAMES), "&", rng.choice(SURNAMES)]
    elif pattern < 0.90:
        parts = [coined(rng), rng.choice(GENERIC)]
    else:
        parts = [coined(rng), coined(rng), rng.choice(TRADES)]
    if rng.random() < 0.8:
        parts.append(rng.choice(FORMS))
    return " ".join(parts)


def suppliers():
    """(name, country) of every generated supplier, names unique, in id order."""
    rng = random.Random(SEED)
    seen = set()
    rows = []
    while len(rows) < SUPPLIERS:
        name = supplier_name(rng)
        if name not in seen:
            seen.add(name)
            rows.append((name, rng.choice(COUNTRIES)))
    return rows


def typo(rng, word):
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    draw = rng.random()
    if draw < 0.3:
        return word[:i] + word[i + 1 :]  # a letter left out
    if draw < 0.55:
        return word[:i] + rng.choice("aeiounrstl") + word[i + 1 :]  # a wrong letter
    if draw < 0.8:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # two letters swapped
    return word[:i] + rng.choice("aeiounrstl") + word[i:]  # a letter too many


def query_for(rng, name):
    """What a person types for a supplier: the name with a typo or two (half the queries),
    its first two words (a third; now and then with a typo), or in capitals without the
    legal form."""
    words = name.split()
    draw = rng.random()
    if draw < 0.5:
        for _ in range(rng.choice((1, 1, 2))):
            j = rng.randrange(len(words))
            words[j] = typo(rng, words[j])
    elif draw < 0.8:
        words = words[:2]
        if rng.random() < 0.5:
            j = rng.randrange(len(words))
            words[j] = typo(rng, words[j])
    else:
        words = [w.upper() for w in words[:3]]
    return " ".join(words)


def queries(names, count, seed):
    rng = random.Random(seed)
    picks = [rng.randrange(len(names)) for _ in range(count)]
    return [(query_for(rng, names[i][0]), i + 1) for i in picks]


# --- loading --------------------------------------------------------------------------------


def dataset_params():
    from xref import matching

    return {"seed": SEED, "suppliers": SUPPLIERS, "index": matching.INDEX_VERSION, "version": 1}


def load(names):
    from django.db import connection, transaction

    from mdm.models import IdSequence, Supplier
    from xref import matching
    from xref.matching.keys import anchor_text, stored_text
    from xref.models import MatchKey

    started = time.perf_counter()
    print("generating the data set (once; reused while seed, size and index stay the same)...")
    common.forget_dataset("match")
    spec = matching.SPECS["supplier"]
    table = MatchKey._meta.db_table
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE mdm_supplier RESTART IDENTITY CASCADE")
            cursor.execute(f"TRUNCATE {table}")
        with common.bulk_load(Supplier):
            rows = (
                (n, f"SUP-{n:07d}", f"B{n:07d}", name, country)
                for n, (name, country) in enumerate(names, start=1)
            )
            common.copy_rows(Supplier, rows, ["id", "public_id", "number", "name", "country"])
        IdSequence.objects.update_or_create(prefix="SUP", defaults={"last": SUPPLIERS})
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('mdm_supplier', 'id'), {SUPPLIERS})"
            )
        print(f"  {SUPPLIERS:,} suppliers in {time.perf_counter() - started:.0f} s")

        # The index, written by the service's own key functions: drop the primary key, COPY
        # the keys, then build the key index and lay the table out in its order (CLUSTER),
        # so a word's rows (read whole for its names) sit together on disk.
        keys = 0
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'",
                [table],
            )
            (pkey,) = cursor.fetchone()
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{pkey}"')
            statement = f"COPY {table} (kind, key, record_id, text) FROM STDIN"
            with cursor.cursor.copy(statement) as copy:
                lines = []
                for n, (name, _) in enumerate(names, start=1):
                    row = {
                        "id": n,
                        "number": f"B{n:07d}",
                        "name": name,
                        "legal_name": "",
                        "duns": "",
                        "lei": "",
                        "vat": "",
                    }
                    text = anchor_text(spec, row)
                    for key in spec.record_keys(row):
                        lines.append(f"{spec.kind}\t{key}\t{n}\t{stored_text(key, text)}\n")
                    if len(lines) > 200_000:
                        copy.write("".join(lines))
                        keys += len(lines)
                        lines = []
                copy.write("".join(lines))
                keys += len(lines)
            print(f"  {keys:,} index keys copied at {time.perf_counter() - started:.0f} s")
            cursor.execute("SET maintenance_work_mem = '512MB'")
            cursor.execute(
                f'ALTER TABLE {table} ADD CONSTRAINT "{pkey}" PRIMARY KEY (kind, key, record_id)'
            )
            cursor.execute(f'CLUSTER {table} USING "{pkey}"')
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute("VACUUM ANALYZE mdm_supplier")
    common.mark_dataset("match", dataset_params())
    print(f"  index built; data set ready in {time.perf_counter() - started:.0f} s")


# --- serving processes and the brute-force scan --------------------------------------------


def serve(url, warm_up, measured):
    """A serving process: Django set up on the bench database, a warm-up, then `measured`
    queries one by one. Returns (milliseconds per query, [(WRatio, public id) of the 5 best
    names by WRatio among the candidates a query's match() scores] per query, peak memory
    (VmHWM) in bytes)."""
    os.environ.update(common.server_env(url))
    sys.path.insert(0, str(common.ROOT))
    import django

    django.setup()
    from xref.matching import match
    from xref.matching.ranking import compared
    from xref.matching.scoring import NAME_SCORER
    from xref.matching.text import normalize

    for q in warm_up:
        match("supplier", q, limit=TOP)
    times, results = [], []
    for q in measured:
        started = time.perf_counter()
        match("supplier", q, limit=TOP)
        times.append((time.perf_counter() - started) * 1000)
    # Recall is of the candidate search: the scan ranks names by WRatio, so the candidates
    # match() scores are ranked by WRatio too (the probability ranks them otherwise).
    for q in measured:
        text = normalize(q, legal_forms=True)
        scored = [
            (
                round(NAME_SCORER(text, normalize(c.row["name"], legal_forms=True)), 1),
                c.row["public_id"],
            )
            for c in compared("supplier", q, limit=TOP).rows
        ]
        results.append(sorted(scored, key=lambda pair: (-pair[0], pair[1]))[:TOP])
    return times, results, common.peak_memory_mib(os.getpid()) * 2**20


def _scan_init(names, scorer):
    global SCAN_NAMES, SCAN_SCORER
    from rapidfuzz import fuzz

    SCAN_NAMES, SCAN_SCORER = names, getattr(fuzz, scorer)


def _scan(text):
    """The top 5 of all names for a normalised query: (score, supplier id)."""
    from rapidfuzz import process

    found = process.extract(text, SCAN_NAMES, scorer=SCAN_SCORER, processor=None, limit=TOP)
    return [(round(score, 1), index + 1) for _, score, index in found]


def brute_force(names, recall):
    """The scan's top 5 for each query: every one of the names scored (2 processes), measured
    in this run."""
    from xref.matching.scoring import NAME_SCORER
    from xref.matching.text import normalize

    texts = [normalize(q, legal_forms=True) for q in recall]
    scorer = NAME_SCORER.__name__
    normalized = [normalize(name, legal_forms=True) for name, _ in names]
    context = multiprocessing.get_context("spawn")
    with context.Pool(2, initializer=_scan_init, initargs=(normalized, scorer)) as pool:
        return pool.map(_scan, texts, chunksize=5)


def recall_figures(results, scans, sources):
    """Rank-wise (tie-aware) recall@5, id recall@5, best-in-top-5 and source-in-top-5."""
    ranks = ids = best = source = 0
    for ours, scan, origin in zip(results, scans, sources, strict=True):
        our_scores = sorted((score for score, _ in ours), reverse=True) + [0.0] * TOP
        scan_scores = sorted((score for score, _ in scan), reverse=True)
        ranks += sum(1 for a, b in zip(our_scores, scan_scores, strict=False) if a >= b)
        our_ids = {int(public_id.split("-")[1]) for _, public_id in ours}
        ids += len(our_ids & {n for _, n in scan})
        best += bool(ours) and our_scores[0] >= scan_scores[0]
        source += origin in our_ids
    count = len(scans)
    return {
        "recall_at_5": ranks / (TOP * count),
        "id_recall_at_5": ids / (TOP * count),
        "scan_best_in_top_5": best / count,
        "source_in_top_5": source / count,
    }


def main():
    url = common.database_url("hub_bench_match")
    common.setup(url)
    from django.db import connection

    from xref.matching.scoring import NAME_SCORER
    from xref.models import MatchKey

    names = suppliers()
    if not common.dataset_matches("match", dataset_params()):
        load(names)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_total_relation_size(%s), pg_total_relation_size('mdm_supplier'), "
            "(SELECT reltuples FROM pg_class WHERE relname = %s)",
            [MatchKey._meta.db_table, MatchKey._meta.db_table],
        )
        index_bytes, table_bytes, key_rows = cursor.fetchone()
    connection.close()

    latency = queries(names, LATENCY_QUERIES, SEED + 1)
    recall = queries(names, RECALL_QUERIES, SEED + 2)
    warm = [q for q, _ in queries(names, WARM_UP, SEED + 3)]
    context = multiprocessing.get_context("spawn")
    print(f"latency: {LATENCY_QUERIES} queries in serving process 1 (after {WARM_UP} warm-up)")
    started = time.perf_counter()
    with context.Pool(1) as pool:
        times, _, rss_latency = pool.apply(serve, (url, warm, [q for q, _ in latency]))
    print(f"  {time.perf_counter() - started:.0f} s")
    print(f"recall: {RECALL_QUERIES} queries in serving process 2, and a brute-force scan")
    with context.Pool(1) as pool:
        _, results, rss_recall = pool.apply(serve, (url, warm, [q for q, _ in recall]))
    started = time.perf_counter()
    scans = brute_force(names, [q for q, _ in recall])
    scan_seconds = time.perf_counter() - started
    print(f"  scan: {scan_seconds:.0f} s")
    figures = recall_figures(results, scans, [n for _, n in recall])

    p50, p99 = common.percentile(times, 0.5), common.percentile(times, 0.99)
    common.print_table(
        f"match over {SUPPLIERS:,} supplier names (PostgreSQL)",
        ["figure", "value"],
        [
            ("match p50 (ms)", p50),
            ("match p90 (ms)", common.percentile(times, 0.9)),
            ("match p99 (ms)", p99),
            ("match mean (ms)", sum(times) / len(times)),
            ("recall@5, rank by rank (ties count)", figures["recall_at_5"]),
            ("recall@5, same ids as the scan", figures["id_recall_at_5"]),
            ("scan's best score in our top 5", figures["scan_best_in_top_5"]),
            ("source supplier in our top 5", figures["source_in_top_5"]),
            ("serving process 1 peak memory, VmHWM (MiB)", rss_latency / 2**20),
            ("serving process 2 peak memory, VmHWM (MiB)", rss_recall / 2**20),
            ("index rows", int(key_rows)),
            ("index on disk (MiB)", index_bytes / 2**20),
            ("supplier table on disk (MiB)", table_bytes / 2**20),
            ("brute-force scan (s per query, 2 processes)", scan_seconds / RECALL_QUERIES),
        ],
    )
    checks = [
        common.check("match p50", p50, 50, unit=" ms"),
        common.check("recall@5 vs brute force", figures["recall_at_5"], 0.98, True),
        common.check("serving process 1 peak memory (VmHWM)", rss_latency / 2**30, 1, unit=" GiB"),
        common.check("serving process 2 peak memory (VmHWM)", rss_recall / 2**30, 1, unit=" GiB"),
    ]
    return common.finish(
        "match",
        {
            "suppliers": SUPPLIERS,
            "latency_queries": LATENCY_QUERIES,
            "recall_queries": RECALL_QUERIES,
            "p50_ms": p50,
            "p90_ms": common.percentile(times, 0.9),
            "p99_ms": p99,
            **figures,
            "peak_rss_bytes": [rss_latency, rss_recall],
            "index_rows": int(key_rows),
            "index_bytes": index_bytes,
            "scorer": NAME_SCORER.__name__,
        },
        checks,
    )


if __name__ == "__main__":
    sys.exit(main())

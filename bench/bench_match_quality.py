"""Match quality on public entity-resolution benchmarks (../shared/erdata), through the
matcher's own service functions, at ONE threshold for every set: the documented *sure*
threshold (`xref.matching.calibration.SURE`, a match probability of 90%), fixed before the
run. The lookup protocol of erdata/README.md: load one side as the master, ask for the single
best candidate of every query, accept it at or above the threshold; precision = correct
accepted / accepted, recall = correct accepted / queries that have a true record.

- Walmart-Amazon (jedai_D8), items: Amazon is the master (title -> description, brand ->
  manufacturer, modelno -> mpn); each Walmart row asks with its title, brand and modelno.
  Target F1 >= 0.80 at the sure threshold.
- Abt-Buy (jedai_D2), items: Buy is the master (name, then as much of its description as
  fits); each Abt name asks, its model number inside the text. Target F1 >= 0.85.
- Chicago early childhood (dedupe), locations: every site is in the master; each asks with
  its name, address and ZIP for the best other site; right when it is of the same True Id.
  Also as suppliers, by name alone. Reported.

Each set is scored three ways: with the weights estimated by EM on its own queries'
candidates (no ground truth used), with the weights shipped with the code
(`xref/matching/weights.json`), and (items) with the other item set's estimate applied
unchanged: the transfer check, which may lose at most 0.05 F1 against the set's own
estimate. Every set must keep precision >= 0.9 at the sure threshold. Beside them, the floor
measured in the same run: plain rapidfuzz with no blocking (`process.extractOne`,
`token_set_ratio`, `default_process`, every master record), at its best threshold and at 90.

    .venv/bin/python bench/bench_match_quality.py [--write-weights]

`--write-weights` writes the estimates the shipped weights are made of: items from
Walmart-Amazon, suppliers and locations from the Chicago set (so Abt-Buy is the held-out
item set). Runs on a throwaway SQLite database (no server needed). BENCH_STRICT=1 exits 1 on
a missed target. The data is read from ../shared/erdata (BENCH_ERDATA overrides).
"""

import csv
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import common

ERDATA = Path(os.getenv("BENCH_ERDATA") or common.ROOT.parent / "shared" / "erdata")
TRANSFER_LOSS = 0.05
PRECISION_AT_SURE = 0.9


def read(path, delimiter="|"):
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


class DataSet:
    """A benchmark as the matcher sees it: master records (model field values with a `key`),
    queries (key, match() fields), the true master keys of each query, and the texts of the
    brute-force floor."""

    def __init__(self, name, kind, master, queries, truth, plain, dedupe=False, estimable=True):
        self.name, self.kind, self.master = name, kind, master
        self.queries, self.truth, self.plain, self.dedupe = queries, truth, plain, dedupe
        # One comparison (a name alone) is a mixture EM cannot tell apart: such a set is
        # scored with the shipped weights only.
        self.estimable = estimable


def walmart_amazon():
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
    truth = {row["D1"]: {row["D2"]} for row in read(folder / "gt.csv")}
    plain = (
        [(r["id"], f"{r['title']} {r['modelno']}") for r in amazon],
        [(r["id"], f"{r['title']} {r['modelno']}") for r in walmart],
    )
    return DataSet("Walmart-Amazon", "item", master, queries, truth, plain)


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
    truth = {row["D1"]: {row["D2"]} for row in read(folder / "gt.csv")}
    plain = (
        [(r["id"], r["name"]) for r in read(folder / "buy.csv")],
        [(r["id"], r["name"]) for r in abt],
    )
    return DataSet("Abt-Buy", "item", master, queries, truth, plain)


def chicago(kind):
    """The Chicago early-childhood sites: as locations (name, address, ZIP) or as suppliers
    (name alone)."""
    rows = read(ERDATA / "chicago_early_childhood" / "csv_example_input_with_true_ids.csv", ",")
    clusters = {}
    for r in rows:
        clusters.setdefault(r["True Id"], set()).add(r["Id"])
    master, queries, truth, texts = [], [], {}, []
    for r in rows:
        name = " ".join(r["Site name"].split())
        address = " ".join(r["Address"].split())
        master.append({"key": r["Id"], "name": name, "address": address, "postal_code": r["Zip"]})
        fields = {"q": name}
        if kind == "location":
            fields.update(address=address, postal_code=r["Zip"])
        queries.append((r["Id"], fields))
        truth[r["Id"]] = clusters[r["True Id"]] - {r["Id"]}
        texts.append((r["Id"], f"{name} {address}" if kind == "location" else name))
    label = "Chicago sites as locations" if kind == "location" else "Chicago sites as suppliers"
    return DataSet(
        label,
        kind,
        master,
        queries,
        truth,
        (texts, texts),
        dedupe=True,
        estimable=kind != "supplier",
    )


def load_master(data):
    """Replace the kind's master with the set's records and rebuild the match index; returns
    {public id: record key}."""
    from django.db import connection

    from mdm.models import Item, Location, Supplier, Unit
    from xref import matching
    from xref.models import MatchKey

    model = {"item": Item, "supplier": Supplier, "location": Location}[data.kind]
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {MatchKey._meta.db_table}")
        for table in (Item, Supplier, Location):
            cursor.execute(f"DELETE FROM {table._meta.db_table}")
    unit, _ = Unit.objects.get_or_create(code="H87", defaults={"name": "piece"})
    records, keys = [], {}
    for n, record in enumerate(data.master, start=1):
        public_id = f"{model.PUBLIC_ID_PREFIX}-{n:06d}"
        keys[public_id] = record["key"]
        values = {k: v for k, v in record.items() if k != "key"}
        if data.kind == "item":
            values.update(base_unit=unit, item_type=Item.Type.COMPONENT, number=f"BENCH{n:06d}")
            values["description"] = values["description"][:250]
            values["manufacturer"] = values["manufacturer"][:200]
            values["mpn"] = values["mpn"][:80]
        elif data.kind == "supplier":
            values = {"name": values["name"][:200], "number": f"BENCH{n:06d}", "country": "US"}
        else:
            values.update(code=f"BENCH{n:06d}", kind=Location.Kind.PLANT, country="US")
            values["name"] = values["name"][:200]
            values["address"] = values["address"][:250]
        records.append(model(public_id=public_id, **values))
    model.objects.bulk_create(records, batch_size=2000)  # no signals: the index is rebuilt below
    matching.rebuild([data.kind])
    return keys


def compare_all(data, keys):
    """[(query key, [(record key, levels)])]: every candidate of every query, compared (a
    dedupe query's own record left out), and queries per second."""
    from xref.matching.ranking import closeness, compared

    by_key = {r["key"]: pid for pid, r in zip(keys, data.master, strict=True)}
    found = []
    started = time.perf_counter()
    for query_key, params in data.queries:
        params = dict(params)
        q = params.pop("q")
        fields = {field: value for field, value in params.items() if value}
        own = by_key.get(query_key) if data.dedupe else None
        found_rows = compared(data.kind, q, limit=1, **fields).rows
        rows = [c for c in found_rows if c.row["public_id"] != own]
        found.append(
            (query_key, [(keys[c.row["public_id"]], c.levels, closeness(c)) for c in rows])
        )
    return found, len(data.queries) / (time.perf_counter() - started)


def best_answers(found, weights, dedupe=False):
    """[(query key, score, record key)] of each query's best candidate under `weights`: the
    probability that it is the record meant (a lookup), or for a dedupe that the two are
    one (the pair judged alone: a record may have several duplicates)."""
    from xref.matching.calibration import pair_probability, probabilities

    best = []
    for query_key, rows in found:
        if not rows:
            continue
        if dedupe:
            scores = [pair_probability(weights, levels) for _, levels, _ in rows]
        else:
            scores = probabilities(weights, [levels for _, levels, _ in rows])
        score, _, record = min(
            ((s, -closeness, key) for s, (key, _, closeness) in zip(scores, rows, strict=True)),
            key=lambda item: (-round(item[0], 1), item[1], item[2]),
        )
        best.append((query_key, score, record))
    return best


def brute_force(plain):
    """The floor: for each query text, the best of all master texts by plain rapidfuzz
    (token_set_ratio after default_process, no blocking; a dedupe query's own text left
    out); [(query key, score, master key)] and queries/s."""
    from rapidfuzz import fuzz, process, utils

    master, queries = plain
    keys = [key for key, _ in master]
    choices = [utils.default_process(text) for _, text in master]
    best = []
    started = time.perf_counter()
    for query_key, text in queries:
        found = process.extract(
            utils.default_process(text),
            choices,
            scorer=fuzz.token_set_ratio,
            processor=None,
            limit=2,
        )
        found = [f for f in found if keys[f[2]] != query_key or master is not queries]
        if found:
            best.append((query_key, found[0][1], keys[found[0][2]]))
    return best, len(queries) / (time.perf_counter() - started)


def at(best, truth, threshold):
    """(threshold, precision, recall, F1) of the answers accepted at `threshold`."""
    accepted = [(q, found) for q, score, found in best if score >= threshold]
    correct = sum(1 for q, found in accepted if found in truth.get(q, ()))
    wanted = sum(1 for records in truth.values() if records)
    precision = correct / len(accepted) if accepted else 0.0
    recall = correct / wanted if wanted else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return threshold, precision, recall, f1


def labelled_only(best, truth):
    """The answers to queries the ground truth names a record for: where it is incomplete
    (a query with no labelled record that has one all the same), precision over these is
    what the matcher can be held to."""
    return [(q, score, found) for q, score, found in best if truth.get(q)]


def by_band(best, truth):
    """[(band, answers, share right)] of the best answers per ten points of score: a
    calibrated score is right about as often as it says."""
    bands = {}
    for q, score, found in best:
        band = min(int(score // 10) * 10, 90)
        answers, right = bands.get(band, (0, 0))
        bands[band] = (answers + 1, right + (found in truth.get(q, ())))
    return [(band, n, round(right / n, 3)) for band, (n, right) in sorted(bands.items())]


def unlabelled_same_number(data, best, threshold):
    """How many sure answers to queries without a labelled record name the query's model
    number exactly (the caller's mpn is the record's, or in its description): answers
    counted wrong that are most likely right, the ground truth being incomplete."""
    from mdm.identifiers import compact
    from xref.matching.text import model_numbers

    asked = {key: compact(fields.get("mpn") or "") for key, fields in data.queries}
    master = {record["key"]: record for record in data.master}
    counted_wrong = same = 0
    for q, score, found in best:
        if score < threshold or data.truth.get(q):
            continue
        counted_wrong += 1
        record = master[found]
        codes = {compact(record.get("mpn") or ""), *model_numbers(record.get("description"))}
        same += bool(asked.get(q)) and asked[q] in codes
    return counted_wrong, same


def best_threshold(best, truth):
    return max((at(best, truth, t) for t in range(101)), key=lambda row: (row[3], row[0]))


def evaluate(data):
    """The set's figures: its own estimate, the shipped weights, the floor; and what the
    transfer check needs (its candidates and own estimate)."""
    from xref.matching import calibration

    started = time.perf_counter()
    keys = load_master(data)
    print(
        f"{data.name}: {len(data.master):,} master records loaded and indexed in "
        f"{time.perf_counter() - started:.0f} s; {len(data.queries):,} queries"
    )
    found, qps = compare_all(data, keys)
    started = time.perf_counter()
    groups = [[(levels, None) for _, levels, _ in rows] for _, rows in found]
    if data.estimable:
        own, iterations = calibration.estimate(data.kind, groups, lookup=not data.dedupe)
    else:
        own, iterations = calibration.shipped(data.kind), 0
    em_seconds = time.perf_counter() - started
    sure = calibration.SURE
    own_best = best_answers(found, own, data.dedupe)
    own_row = at(own_best, data.truth, sure)
    try:
        shipped = calibration.shipped(data.kind)
        shipped_row = at(best_answers(found, shipped, data.dedupe), data.truth, sure)
    except ValueError:  # shipped weights of other comparisons: --write-weights makes new ones
        shipped_row = (sure, 0.0, 0.0, 0.0)
    floor_best, floor_qps = brute_force(data.plain)
    floor_row = best_threshold(floor_best, data.truth)
    floor_90 = at(floor_best, data.truth, 90)
    pairs = sum(len(rows) for _, rows in found)
    print(
        f"{data.name}: EM over {pairs:,} candidate pairs, {iterations} iterations, "
        f"{em_seconds:.1f} s"
    )
    return (
        {
            "name": data.name,
            "kind": data.kind,
            "queries": len(data.queries),
            "master_records": len(data.master),
            "queries_per_second": round(qps, 1),
            "own": _figures(own_row),
            "own_labelled": _figures(at(labelled_only(own_best, data.truth), data.truth, sure)),
            "own_best": _figures(best_threshold(own_best, data.truth)),
            "bands": by_band(own_best, data.truth),
            "unlabelled_sure": unlabelled_same_number(data, own_best, sure),
            "shipped": _figures(shipped_row),
            "floor_best": {**_figures(floor_row), "queries_per_second": round(floor_qps, 1)},
            "floor_at_90": _figures(floor_90),
        },
        found,
        own,
    )


def _figures(row):
    threshold, precision, recall, f1 = row
    return {
        "threshold": threshold,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
    }


def main():
    sys.stdout.reconfigure(line_buffering=True)
    if not (ERDATA / "README.md").exists():
        print(
            f"The entity-resolution data is missing: expected {ERDATA} (the shared/ folder "
            "beside the project, or BENCH_ERDATA). Cannot measure match quality.",
            file=sys.stderr,
        )
        return 2
    write = "--write-weights" in sys.argv[1:]
    workdir = Path(tempfile.mkdtemp(prefix="hub-match-quality-"))
    try:
        os.environ.update(common.server_env(f"sqlite:///{workdir / 'quality.sqlite3'}"))
        os.environ["HUB_VAR_DIR"] = str(workdir)
        sys.path.insert(0, str(common.ROOT))
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", interactive=False, verbosity=0)
        sets, estimates = [], {}
        for loader in (
            walmart_amazon,
            abt_buy,
            lambda: chicago("location"),
            lambda: chicago("supplier"),
        ):
            data = loader()
            figures, found, own = evaluate(data)
            sets.append((data, figures, found))
            estimates[data.name] = own
        transfers = _transfers(sets, estimates)
        if write:
            _write_weights(estimates)
        from django.db import connection

        connection.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return _report(sets, transfers)


def _transfers(sets, estimates):
    """Each item set scored with the other item set's estimate, as it is and with the found
    rate of its own queries (m and u unchanged): (to, from, how, figures, own F1)."""
    from xref.matching import calibration

    items = [(data, figures, found) for data, figures, found in sets if data.kind == "item"]
    rows = []
    for data, figures, found in items:
        groups = [[(levels, None) for _, levels, _ in candidates] for _, candidates in found]
        for other, _, _ in items:
            if other is data:
                continue
            weights = estimates[other.name]
            for how, used in (
                ("unchanged", weights),
                (
                    "m, u unchanged; found rate of the set",
                    calibration.with_found_rate(weights, groups),
                ),
            ):
                row = at(best_answers(found, used), data.truth, calibration.SURE)
                rows.append((data.name, other.name, how, _figures(row), figures["own"]["f1"]))
    return rows


def _write_weights(estimates):
    from xref.matching import calibration

    location = estimates["Chicago sites as locations"]
    # A supplier's name alone cannot be estimated by EM (one comparison: a mixture that
    # cannot be told apart); its levels are a location name's, estimated beside the address.
    start = calibration.neutral("supplier")
    supplier = calibration.Weights(
        "supplier",
        location.prior,
        {**start.m, "name": location.m["name"]},
        {**start.u, "name": location.u["name"]},
    )
    chosen = {"item": estimates["Walmart-Amazon"], "location": location, "supplier": supplier}
    document = {
        "about": (
            "Shipped match weights, estimated by EM (ground truth unused) by "
            "bench/bench_match_quality.py --write-weights: items on Walmart-Amazon "
            "(pyJedAI D8, Apache-2.0), locations on the Chicago early-childhood sites "
            "(dedupe-examples, MIT) by name, address and ZIP; suppliers' names take the "
            "location names' weights. See ../shared/erdata/README.md."
        )
    }
    document.update({kind: weights.as_json() for kind, weights in chosen.items()})
    calibration.DEFAULTS.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {calibration.DEFAULTS}")


def _report(sets, transfers):
    from xref.matching import calibration

    sure = calibration.SURE
    rows = []
    for _, figures, _ in sets:
        for label, key in (
            ("own estimate", "own"),
            ("own, labelled queries", "own_labelled"),
            ("shipped weights", "shipped"),
            ("own estimate, best T", "own_best"),
            ("floor: rapidfuzz, best T", "floor_best"),
            ("floor: rapidfuzz at 90", "floor_at_90"),
        ):
            f = figures[key]
            rows.append(
                (figures["name"], label, f["threshold"], f["precision"], f["recall"], f["f1"])
            )
    common.print_table(
        f"Match quality at the sure threshold ({sure:.0f}) and beside it",
        ["set", "weights", "threshold", "precision", "recall", "F1"],
        rows,
    )
    common.print_table(
        "How often the best answer is right, per ten points of its score (own estimate)",
        ["set", "score", "answers", "right"],
        [
            (figures["name"], f"{band}-{band + 10}", n, right)
            for _, figures, _ in sets
            for band, n, right in figures["bands"]
        ],
    )
    for _, figures, _ in sets:
        counted_wrong, same = figures["unlabelled_sure"]
        if same:
            print(
                f"{figures['name']}: {counted_wrong} sure answers to queries without a "
                f"labelled record are counted wrong; {same} of them name the query's model "
                "number exactly (the ground truth is incomplete)."
            )
    common.print_table(
        "Transfer: weights estimated on one set, applied to another",
        ["set", "weights of", "how", "P", "R", "F1", "own F1", "loss"],
        [
            (to, source, how, f["precision"], f["recall"], f["f1"], own, round(own - f["f1"], 4))
            for to, source, how, f, own in transfers
        ],
    )
    by_name = {figures["name"]: figures for _, figures, _ in sets}
    checks = [
        common.check(
            "Walmart-Amazon F1 at sure",
            by_name["Walmart-Amazon"]["own"]["f1"],
            0.80,
            higher_is_better=True,
        ),
        common.check(
            "Abt-Buy F1 at sure", by_name["Abt-Buy"]["own"]["f1"], 0.85, higher_is_better=True
        ),
    ]
    for name, figures in by_name.items():
        checks.append(
            common.check(
                f"{name} precision at sure",
                figures["own"]["precision"],
                PRECISION_AT_SURE,
                higher_is_better=True,
            )
        )
    for to, source, how, f, own in transfers:
        if how == "unchanged":
            checks.append(
                common.check(
                    f"{to} F1 loss with {source}'s weights", round(own - f["f1"], 4), TRANSFER_LOSS
                )
            )
    return common.finish(
        "match_quality",
        {
            "database": "sqlite",
            "sure_threshold": sure,
            "sets": [figures for _, figures, _ in sets],
            "transfers": [
                {"set": to, "weights_of": source, **f, "own_f1": own}
                for to, source, how, f, own in transfers
            ],
        },
        checks,
    )


if __name__ == "__main__":
    sys.exit(main())

"""Splink (Fellegi-Sunter, m by EM, u by random sampling) on the erdata benchmarks, measured
with the lookup protocol of ../shared/erdata/README.md so it compares with the hub's own
FS/EM model (issue 18). This is a measurement of an alternative, NOT part of the hub: the
hub does not depend on Splink, and this file is not named bench_*.py, so `make bench` skips it.

Run it with a throwaway virtualenv outside the project (Splink 4, DuckDB backend):

    python3.11 -m venv /tmp/splinkenv
    /tmp/splinkenv/bin/pip install "splink>=4,<5"
    /tmp/splinkenv/bin/python bench/splink_compare.py

(A bare `pip install splink` now gives Splink 5; this script is written against 4.0.x.)

Per set it builds one linker, estimates the prior from deterministic rules (no labels), u by
random sampling (seeded), m by EM on two blocking rules, predicts on the blocking rules below,
then applies the protocol: every query record takes its single best candidate by match
probability and accepts it when the probability is >= T. Precision = correct accepted /
accepted, recall = correct accepted / queries that have a true partner. The ground truth is
used only for scoring, never for training.

- Walmart-Amazon (jedai_D8): link_only, Amazon the master, each Walmart row asks; title,
  model number (exact with term-frequency adjustment), brand.
- Abt-Buy (jedai_D2): link_only, Buy the master, each Abt name asks; name (Buy: name) and a
  model number pulled from the text (tokens with letters and digits, 4+ characters).
- Chicago early childhood: dedupe_only; site name, address, zip, phone. Each record asks
  against all the others; correct when its best other record has the same True Id.
- Transfer: a Walmart-Amazon model with only the Abt-Buy comparisons (title + model number)
  applied unchanged to Abt-Buy, against Abt-Buy's own estimate.
- Latency: `find_matches_to_new_records` for single Walmart queries against the trained
  Walmart-Amazon linker (the closest Splink 4 has to an online lookup).

BENCH_ERDATA overrides the data folder (default ../shared/erdata beside the project).
"""

import csv
import logging
import os
import re
import statistics
import sys
import time
from pathlib import Path

import pandas as pd
import splink.comparison_level_library as cll
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink import comparison_library as cl

ROOT = Path(__file__).resolve().parent.parent
ERDATA = Path(os.getenv("BENCH_ERDATA") or ROOT.parent / "shared" / "erdata")
SEED = 18
U_PAIRS = 5e6
logging.getLogger("splink").setLevel(logging.ERROR)

# --- text preparation -----------------------------------------------------------------------

NON_ALNUM = re.compile(r"[^0-9a-z]+")
CODE_SPLIT = re.compile(r"[\s,;:()\[\]{}|\"']+")
STOP = {"the", "and", "for", "with", "of", "in", "to", "a", "an", "by"}


def norm(text):
    """Lower case, punctuation to spaces, one space between words; None when empty."""
    text = NON_ALNUM.sub(" ", (text or "").lower()).strip()
    return text or None


def tokens(text):
    """Distinct words of a normalised text (stop words left out), sorted for stable output."""
    return sorted({t for t in (text or "").split() if t not in STOP})


def norm_code(text):
    """A model number as letters and digits only, upper case; None when empty."""
    return re.sub(r"[^0-9A-Z]", "", (text or "").upper()) or None


def codes(text):
    """Model-number-like tokens of a text: letters and digits both, 4+ characters after
    dropping hyphens, dots and slashes inside the token."""
    found = []
    for raw in CODE_SPLIT.split(text or ""):
        code = norm_code(raw)
        if code and len(code) >= 4 and re.search(r"[A-Z]", code) and re.search(r"\d", code):
            found.append(code)
    return sorted(set(found))


def main_code(text):
    """The longest model-number-like token of a text (ties: the last in text order)."""
    found = [norm_code(raw) for raw in CODE_SPLIT.split(text or "")]
    found = [c for c in found if c and c in set(codes(text))]
    return max(reversed(found), key=len) if found else None


def read_pipe(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="|"))


def item_row(uid, title, model, brand, code_text):
    title_n = norm(title)
    row_codes = codes(code_text)
    if model and model not in row_codes:
        row_codes = sorted(set(row_codes) | {model})
    return {
        "unique_id": uid,
        "title": title_n,
        "title_tok": tokens(title_n),
        "model": model,
        "codes": row_codes or None,
        "brand": norm(brand),
        "title_head": (title_n or "")[:6] or None,
    }


def walmart_amazon():
    folder = ERDATA / "walmart_amazon" / "jedai_D8"

    def frame(rows):
        return pd.DataFrame(
            item_row(
                int(r["id"]),
                r["title"],
                norm_code(r["modelno"]) or main_code(r["title"]),
                r["brand"],
                f"{r['title']} {r['modelno']}",
            )
            for r in rows
        )

    left, right = frame(read_pipe(folder / "walmart.csv")), frame(read_pipe(folder / "amazon.csv"))
    truth = {int(r["D1"]): int(r["D2"]) for r in read_pipe(folder / "gt.csv")}
    return left, right, truth


def abt_buy():
    folder = ERDATA / "abt_buy" / "jedai_D2"
    abt = read_pipe(folder / "abt.csv")
    buy = read_pipe(folder / "buy.csv")
    left = pd.DataFrame(
        item_row(int(r["id"]), r["name"], main_code(r["name"]), None, r["name"]) for r in abt
    )
    right = pd.DataFrame(
        item_row(
            int(r["id"]),
            r["name"],
            main_code(r["name"]) or main_code(r["description"]),
            None,
            f"{r['name']} {r['description']}",
        )
        for r in buy
    )
    truth = {int(r["D1"]): int(r["D2"]) for r in read_pipe(folder / "gt.csv")}
    return left.drop(columns="brand"), right.drop(columns="brand"), truth


def chicago():
    path = ERDATA / "chicago_early_childhood" / "csv_example_input_with_true_ids.csv"
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    records, cluster = [], {}
    for r in rows:
        uid = int(r["Id"])
        name = norm(r["Site name"])
        digits = re.sub(r"\D", "", r["Phone"] or "")
        records.append(
            {
                "unique_id": uid,
                "name": name,
                "name_tok": tokens(name),
                "address": norm(r["Address"]),
                "zip": re.sub(r"\D", "", r["Zip"] or "")[:5] or None,
                "phone": digits[-7:] if len(digits) >= 7 else None,
                "name_head": (name or "")[:4] or None,
                "addr_head": (norm(r["Address"]) or "")[:6] or None,
            }
        )
        cluster[uid] = r["True Id"]
    return pd.DataFrame(records), cluster


# --- comparisons ----------------------------------------------------------------------------


def overlap(col, at_least):
    """Word overlap coefficient |A & B| / min(|A|, |B|) >= at_least, in DuckDB SQL."""
    inter = f"len(list_intersect({col}_l, {col}_r))"
    smaller = f"least(len({col}_l), len({col}_r))"
    return cll.CustomLevel(
        f"{inter} >= {at_least} * {smaller} AND {inter} > 0",
        label_for_charts=f"{col} word overlap >= {at_least}",
    )


def text_comparison(col, tok):
    """Exact, Jaro-Winkler >= 0.92, then word-overlap bands, else."""
    return cl.CustomComparison(
        output_column_name=col,
        comparison_levels=[
            cll.NullLevel(col),
            cll.ExactMatchLevel(col),
            cll.JaroWinklerLevel(col, 0.92),
            overlap(tok, 0.8),
            overlap(tok, 0.6),
            overlap(tok, 0.4),
            overlap(tok, 0.2),
            cll.ElseLevel(),
        ],
    )


def model_comparison():
    """Exact model number (term-frequency adjusted), one side's model among the other's
    model-like tokens, Levenshtein <= 1, else."""
    return cl.CustomComparison(
        output_column_name="model",
        comparison_levels=[
            cll.NullLevel("model"),
            cll.ExactMatchLevel("model", term_frequency_adjustments=True),
            cll.CustomLevel(
                "list_contains(codes_r, model_l) OR list_contains(codes_l, model_r)",
                label_for_charts="model among the other's codes",
            ),
            cll.LevenshteinLevel("model", 1),
            cll.ElseLevel(),
        ],
    )


def brand_comparison():
    return cl.CustomComparison(
        output_column_name="brand",
        comparison_levels=[
            cll.NullLevel("brand"),
            cll.ExactMatchLevel("brand"),
            cll.JaroWinklerLevel("brand", 0.88),
            cll.ElseLevel(),
        ],
    )


ITEM_BLOCKING = [
    block_on("model"),
    block_on("codes", arrays_to_explode=["codes"]),
    block_on("title_head"),
]
ITEM_BLOCKING_BRAND = ITEM_BLOCKING + [block_on("brand", "substr(title, 1, 3)")]


def item_settings(with_brand):
    comparisons = [text_comparison("title", "title_tok"), model_comparison()]
    if with_brand:
        comparisons.append(brand_comparison())
    return SettingsCreator(
        link_type="link_only",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=ITEM_BLOCKING_BRAND if with_brand else ITEM_BLOCKING,
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


def item_linker(left, right, settings):
    return Linker(
        [left, right],
        settings,
        DuckDBAPI(),
        input_table_aliases=["query_side", "master_side"],
        set_up_basic_logging=False,
    )


def train_items(linker, with_brand, recipe="title"):
    """Prior from deterministic rules, u by seeded random sampling, m by EM on two blocks.
    The first block is the same model number (trains title and brand). The second trains the
    model-number comparison:
    - "title" (the recipe used): exactly the same normalised title, a block where nearly
      every pair is a match.
    - "head" (the first attempt, kept for the record): same brand and first 6 characters of
      the title. EM there settles on "same product family" as its match class (Amazon lists
      many variants with near-identical titles), so m(exact model) comes out near 0.1
      instead of about 0.7 and model numbers stop counting. The recipe was switched after
      seeing that, i.e. with knowledge of the truth: "title" is the better of two recipes,
      not a blind first try."""
    linker.training.estimate_probability_two_random_records_match(
        [block_on("model"), block_on("title")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=U_PAIRS, seed=SEED)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("model"))
    if recipe == "title":
        second = block_on("title")
    else:
        second = block_on("brand", "title_head") if with_brand else block_on("title_head")
    linker.training.estimate_parameters_using_expectation_maximisation(second)


def exact_model_m(linker):
    """m of the exact-model level, to show what EM made of model numbers."""
    model = linker.misc.save_model_to_json()
    levels = next(c for c in model["comparisons"] if c["output_column_name"] == "model")
    return levels["comparison_levels"][1]["m_probability"]


# --- the lookup protocol --------------------------------------------------------------------


def best_per_query(pairs, query_side):
    """{query id: (match_weight, match_probability, candidate id)} for the best candidate.
    `pairs` has unique_id_l/_r, source_dataset_l/_r (or none for dedupe), match_weight and
    match_probability; both directions are considered when query_side is None (dedupe)."""
    cols = ["unique_id_l", "unique_id_r", "match_weight", "match_probability"]
    if query_side is None:
        a = pairs[cols].rename(columns={"unique_id_l": "q", "unique_id_r": "c"})
        b = pairs[cols].rename(columns={"unique_id_r": "q", "unique_id_l": "c"})
        both = pd.concat([a, b])
    else:
        parts = []
        for q_side, c_side in (("l", "r"), ("r", "l")):
            mask = pairs[f"source_dataset_{q_side}"] == query_side
            part = pairs.loc[mask, [f"unique_id_{q_side}", f"unique_id_{c_side}"] + cols[2:]]
            parts.append(part.set_axis(["q", "c", "match_weight", "match_probability"], axis=1))
        both = pd.concat(parts)
    # Highest weight first, lowest candidate id on ties, so reruns pick the same record.
    both = both.sort_values(["q", "match_weight", "c"], ascending=[True, False, True])
    best = both.drop_duplicates("q")
    return {
        int(r.q): (float(r.match_weight), float(r.match_probability), int(r.c))
        for r in best.itertuples()
    }


def score(best, is_correct, positives):
    """(rows at T=0.9, best row) where a row is (T, weight, P, R, F1, accepted)."""
    ranked = sorted(
        ((w, p, is_correct(q, c)) for q, (w, p, c) in best.items()), key=lambda x: -x[0]
    )

    def row(threshold, weight, accepted, correct):
        precision = correct / accepted if accepted else 0.0
        recall = correct / positives
        f1 = 2 * precision * recall / (precision + recall) if correct else 0.0
        return (threshold, weight, precision, recall, f1, accepted)

    at_09 = [x for x in ranked if x[1] >= 0.9]
    fixed = row(0.9, None, len(at_09), sum(x[2] for x in at_09))
    top, correct = row(1.0, None, 0, 0), 0
    for i, (w, p, ok) in enumerate(ranked):
        correct += ok
        if i + 1 < len(ranked) and ranked[i + 1][0] == w:
            continue  # a threshold takes all candidates of equal weight
        candidate = row(p, w, i + 1, correct)
        if candidate[4] > top[4]:
            top = candidate
    return fixed, top


def link_figures(linker, truth):
    pairs = linker.inference.predict().as_pandas_dataframe()
    best = best_per_query(pairs, "query_side")
    left_first = pairs["source_dataset_l"] == "query_side"
    q_ids = pairs["unique_id_l"].where(left_first, pairs["unique_id_r"])
    c_ids = pairs["unique_id_r"].where(left_first, pairs["unique_id_l"])
    in_blocks = set(zip(q_ids, c_ids, strict=True))
    reached = sum((q, c) in in_blocks for q, c in truth.items())
    fixed, top = score(best, lambda q, c: truth.get(q) == c, len(truth))
    return fixed, top, len(pairs), reached


def dedupe_figures(linker, cluster):
    pairs = linker.inference.predict().as_pandas_dataframe()
    best = best_per_query(pairs, None)
    sizes = {}
    for cid in cluster.values():
        sizes[cid] = sizes.get(cid, 0) + 1
    positives = sum(sizes[cid] > 1 for cid in cluster.values())
    fixed, top = score(best, lambda q, c: cluster[q] == cluster[c], positives)
    partners = {}
    for a, b in zip(pairs["unique_id_l"], pairs["unique_id_r"], strict=True):
        partners.setdefault(int(a), set()).add(int(b))
        partners.setdefault(int(b), set()).add(int(a))
    reached = sum(
        any(cluster[o] == cluster[q] for o in partners.get(q, ()))
        for q in cluster
        if sizes[cluster[q]] > 1
    )
    return fixed, top, len(pairs), reached, positives


# --- runs -----------------------------------------------------------------------------------


def run_items(results, name, loader, with_brand, recipe):
    left, right, truth = loader()
    started = time.perf_counter()
    linker = item_linker(left, right, item_settings(with_brand=with_brand))
    train_items(linker, with_brand=with_brand, recipe=recipe)
    trained = time.perf_counter()
    fixed, top, n_pairs, reached = link_figures(linker, truth)
    done = time.perf_counter()
    label = f"{name} [EM2 {recipe}, m(model=)={exact_model_m(linker):.2f}]"
    results.append(
        (
            label,
            fixed,
            top,
            done - started,
            trained - started,
            len(left),
            n_pairs,
            f"{reached}/{len(truth)}",
        )
    )
    return linker, left, fixed, top


def run_chicago(results):
    frame, cluster = chicago()
    started = time.perf_counter()
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            text_comparison("name", "name_tok"),
            cl.CustomComparison(
                output_column_name="address",
                comparison_levels=[
                    cll.NullLevel("address"),
                    cll.ExactMatchLevel("address"),
                    cll.LevenshteinLevel("address", 2),
                    cll.JaroWinklerLevel("address", 0.9),
                    cll.ElseLevel(),
                ],
            ),
            cl.ExactMatch("zip").configure(term_frequency_adjustments=True),
            cl.ExactMatch("phone").configure(term_frequency_adjustments=True),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("phone"),
            block_on("address"),
            block_on("zip", "name_head"),
            block_on("addr_head"),
            block_on("substr(name, 1, 10)"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )
    linker = Linker(frame, settings, DuckDBAPI(), set_up_basic_logging=False)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("phone", "zip"), block_on("name", "zip")], recall=0.6
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=U_PAIRS, seed=SEED)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("phone"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("name_head"))
    trained = time.perf_counter()
    fixed, top, n_pairs, reached, positives = dedupe_figures(linker, cluster)
    done = time.perf_counter()
    results.append(
        (
            "Chicago (dedupe) [EM on phone, name start]",
            fixed,
            top,
            done - started,
            trained - started,
            len(frame),
            n_pairs,
            f"{reached}/{positives}",
        )
    )


def run_transfer(ab_own_fixed, ab_own_top):
    """Walmart-Amazon m/u/prior with the Abt-Buy comparisons, applied unchanged to Abt-Buy;
    then the same m/u with Abt-Buy's own (label-free) prior."""
    wa_left, wa_right, _ = walmart_amazon()
    wa = item_linker(wa_left, wa_right, item_settings(with_brand=False))
    train_items(wa, with_brand=False)
    model = wa.misc.save_model_to_json()
    # Without brand the blocking rules are already Abt-Buy's (ITEM_BLOCKING).
    left, right, truth = abt_buy()
    moved = item_linker(left, right, model)
    fixed, top, _, _ = link_figures(moved, truth)
    moved.training.estimate_probability_two_random_records_match(
        [block_on("model"), block_on("title")], recall=0.7
    )
    fixed_own_prior, top_own_prior, _, _ = link_figures(moved, truth)
    return [
        ("Abt-Buy, own estimate", ab_own_fixed, ab_own_top),
        ("Abt-Buy, WA model unchanged", fixed, top),
        ("Abt-Buy, WA m/u + AB prior", fixed_own_prior, top_own_prior),
    ]


def lookup_latency(linker, left, n=20):
    """Median and max ms of find_matches_to_new_records for one Walmart row at a time,
    blocked on model number and title start (exploding blocking rules are for predict())."""
    linker.table_management.compute_tf_table("model")
    rules = [block_on("model"), block_on("title_head")]
    timings, found = [], 0
    for record in left.head(n).to_dict("records"):
        started = time.perf_counter()
        out = linker.inference.find_matches_to_new_records(
            [record], blocking_rules=rules
        ).as_pandas_dataframe()
        timings.append((time.perf_counter() - started) * 1000)
        found += len(out) > 0
    return statistics.median(timings), max(timings), found, n


def fmt_row(row):
    threshold, weight, p, r, f1, accepted = row
    w = f" (w {weight:.1f})" if weight is not None else ""
    return f"T={threshold:.4g}{w} P={p:.3f} R={r:.3f} F1={f1:.3f} n={accepted}"


def main():
    import duckdb
    import splink

    print(f"splink {splink.__version__}, duckdb {duckdb.__version__}, data {ERDATA}")
    whole = time.perf_counter()
    results = []
    run_items(results, "Walmart-Amazon", walmart_amazon, True, "head")
    wa_linker, wa_left, _, _ = run_items(results, "Walmart-Amazon", walmart_amazon, True, "title")
    run_items(results, "Abt-Buy", abt_buy, False, "head")
    _, _, ab_fixed, ab_top = run_items(results, "Abt-Buy", abt_buy, False, "title")
    run_chicago(results)
    print()
    print(
        f"{'set':45} {'at T=0.9':44} {'best T':56} {'secs':>6} {'train':>6} {'q/s':>6}"
        f" {'pairs':>8}  truth in blocks"
    )
    for name, fixed, top, secs, train, queries, n_pairs, reached in results:
        print(
            f"{name:45} {fmt_row(fixed):44} {fmt_row(top):56} {secs:6.1f} {train:6.1f}"
            f" {queries / (secs - train):6.0f} {n_pairs:8d}  {reached}"
        )
    print("\n(secs = set-up + training + predict + protocol; q/s = queries / (predict + protocol))")
    print("\nTransfer (comparisons: title + model number), at T=0.9 and at the best T:")
    transfer = run_transfer(ab_fixed, ab_top)
    for name, fixed, top in transfer:
        print(f"  {name:28} {fmt_row(fixed):44} {fmt_row(top)}")
    print(f"  best-T F1 difference (WA model - own): {transfer[1][2][4] - transfer[0][2][4]:+.3f}")
    median, worst, found, n = lookup_latency(wa_linker, wa_left)
    print(
        f"\nOne-query lookup (find_matches_to_new_records, Walmart row vs 22,074 Amazon):"
        f" median {median:.0f} ms, max {worst:.0f} ms, {found}/{n} with candidates"
    )
    print(f"\nTotal {time.perf_counter() - whole:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

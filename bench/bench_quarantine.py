"""The quarantine review screens at 100,000 open cases in PostgreSQL: the queue's first page
with a filter, and the dashboard, timed server-side (the whole Django request in this process:
middleware, queries, template; no network).

    .venv/bin/python bench/bench_quarantine.py        (make bench runs every bench_*.py)

What is measured, each warm, BENCH_REPEAT times (default 15), median and 95th percentile:
(a) floor: a bare `count(*)` of the open cases, and the same count for the filtered queue;
(b) the queue filtered to one rule (/quarantine/?rule=XREF_UNRESOLVED): the page of 50 rows,
    the counts of every facet value (each facet with the other filters applied) and the
    pagination count; also filtered to one team, and unfiltered, for comparison;
(c) the dashboard: open cases and age buckets by team, rule, plant and supplier, the replay
    success rate, manual interventions per day and the oldest cases, with six SVG charts.
Targets: queue with a filter <= 200 ms, dashboard <= 500 ms (median).

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/
hub_bench_quarantine; created and migrated when missing), BENCH_CASES (default 100,000 open
cases; a fifth as many closed ones are added), BENCH_REPEAT, BENCH_STRICT=1 (exit 1 when a
target is missed).

The data set is generated with bulk_create (messages, cases, their rules and transitions),
once, and reused while its parameters stay the same: 4 teams, 9 rules (one or two per case),
40 plants, 400 suppliers, 4,000 items, opened over the last 10 days (every age bucket filled),
a tenth in review; 20,000 transitions by people over the last 30 days, and replay outcomes.
"""

import datetime as dt
import os
import random
import sys
import time

import common

CASES = int(os.getenv("BENCH_CASES", "100000"))
CLOSED = CASES // 5
REPEAT = int(os.getenv("BENCH_REPEAT", "15"))
DATASET = {"cases": CASES, "closed": CLOSED, "version": 1}
BATCH = 5000
TARGET_QUEUE_MS = 200
TARGET_DASHBOARD_MS = 500
RULES = (
    ("XREF_UNRESOLVED", "integration"),
    ("ITEM_OBSOLETE", "procurement"),
    ("ITEM_BLOCKED", "procurement"),
    ("REVISION_OBSOLETE", "procurement"),
    ("UNIT_NOT_CONVERTIBLE", "erp"),
    ("SHIP_TO_INVALID", "erp"),
    ("NOT_A_WORKING_DAY", "planning"),
    ("QUANTITY_INVALID", "integration"),
    ("FORECAST_LOCATION_NOT_PLANT", "planning"),
)
SYSTEMS = ("ERP_LEGACY", "ERP_CLOUD", "PLANNING", "SUPPLIER_NET")
TYPES = ("purchase_order", "po_acknowledgement", "ship_notice", "forecast", "receipt")


# --- data set ---------------------------------------------------------------------------------


def ensure_dataset():
    if common.dataset_matches("quarantine", DATASET):
        return None
    started = time.perf_counter()
    print(f"generating {CASES:,} open and {CLOSED:,} closed cases (once; reused after)...")
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection, transaction

    from mdm.models import SourceSystem
    from quarantine.models import CaseTransition, QuarantineCase
    from validation.models import InboundMessage, Rule

    common.forget_dataset("quarantine")
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE quarantine_casetransition, quarantine_quarantinecase_rules, "
            "quarantine_casekey, quarantine_bulkrun, quarantine_quarantinecase, "
            "validation_payloadrevision, validation_messagechunk, validation_inboundmessage "
            "CASCADE"
        )
    rng = random.Random(20261127)
    systems = {}
    for code in SYSTEMS:
        systems[code], _ = SourceSystem.objects.get_or_create(
            code=code, defaults={"name": code.title(), "kind": "erp"}
        )
    rules = {}
    for code, team in RULES:
        rules[code], _ = Rule.objects.get_or_create(
            code=code, defaults={"severity": "error", "team": team, "description": code}
        )
    users = []
    steward_group = Group.objects.get(name="steward")
    for n in range(5):
        user, _ = get_user_model().objects.get_or_create(
            username=f"bench-steward-{n}", defaults={"is_staff": True}
        )
        user.groups.add(steward_group)
        users.append(user)
    now = dt.datetime.now(dt.UTC)
    plants = [f"PL{n:03d}" for n in range(40)]
    suppliers = [f"SUP-{n:05d}" for n in range(400)]
    items = [f"ITEM-{n:06d}" for n in range(4000)]
    total = CASES + CLOSED
    Through = QuarantineCase.rules.through
    for start in range(0, total, BATCH):
        count = min(BATCH, total - start)
        with transaction.atomic():
            messages, cases, links, transitions = [], [], [], []
            for n in range(start, start + count):
                system = SYSTEMS[n % len(SYSTEMS)]
                message_type = TYPES[n % len(TYPES)]
                plant, supplier = rng.choice(plants), rng.choice(suppliers)
                item = rng.choice(items)
                payload = {
                    "po_number": f"45{n:08d}",
                    "supplier": supplier,
                    "ship_to": plant,
                    "lines": [{"line": 10, "item": item, "quantity": "5", "unit": "PCE"}],
                }
                messages.append(
                    InboundMessage(
                        public_id=f"MSG-B{n:07d}",
                        message_type=message_type,
                        schema_version=1,
                        system=systems[system],
                        idempotency_key=f"bench-{n}",
                        payload_sha256=f"{n:064d}",
                        payload=payload,
                        status=InboundMessage.Status.QUARANTINED,
                        received_at=now,
                    )
                )
            InboundMessage.objects.bulk_create(messages)
            for offset, message in enumerate(messages):
                n = start + offset
                # Ages spread over ten days, younger ones more frequent.
                age = dt.timedelta(seconds=int(864000 * rng.random() ** 2))
                opened = now - age
                closed = n >= CASES
                codes = rng.sample(RULES, 2 if rng.random() < 0.2 else 1)
                status = (
                    rng.choice(("resolved_by_replay", "rejected", "released_by_override"))
                    if closed
                    else ("in_review" if rng.random() < 0.1 else "open")
                )
                payload = message.payload
                diagnostics = [
                    {
                        "rule": code,
                        "severity": "error",
                        "team": team,
                        "path": "$.lines[0].item",
                        "value": payload["lines"][0]["item"],
                        "message": f"{code} for {payload['lines'][0]['item']}.",
                        "suggestion": None,
                    }
                    for code, team in codes
                ]
                cases.append(
                    QuarantineCase(
                        message=message,
                        diagnostics=diagnostics,
                        team=codes[0][1],
                        assignee=rng.choice(users) if status == "in_review" else None,
                        status=status,
                        plant=payload["ship_to"],
                        supplier=payload["supplier"],
                        item=payload["lines"][0]["item"],
                        message_type=message.message_type,
                        system_id=message.system_id,
                        opened_at=opened,
                        resolved_at=opened + (age / 2) if closed else None,
                        search_text=" ".join(
                            (message.public_id, payload["po_number"], payload["ship_to"])
                            + (payload["supplier"], payload["lines"][0]["item"])
                        ).lower(),
                    )
                )
            QuarantineCase.objects.bulk_create(cases)
            for case in cases:
                links += [
                    Through(quarantinecase_id=case.pk, rule_id=rules[d["rule"]].pk)
                    for d in case.diagnostics
                ]
                transitions.append(
                    CaseTransition(
                        case_id=case.pk,
                        at=case.opened_at,
                        to_status="open",
                        reason="Quarantined by validation.",
                    )
                )
                if case.status != "open" and rng.random() < 0.5 and case.opened_at:
                    person = rng.choice(users)
                    at = now - dt.timedelta(seconds=int(2592000 * rng.random()))
                    released = case.status == "resolved_by_replay"
                    transitions.append(
                        CaseTransition(
                            case_id=case.pk,
                            by=person,
                            at=at,
                            from_status="open",
                            to_status=case.status,
                            reason=f"{case.get_status_display()} by {person.username}.",
                        )
                    )
                    transitions.append(
                        CaseTransition(
                            case_id=case.pk,
                            at=at,
                            from_status="open",
                            to_status=case.status if released else "open",
                            reason="Replayed and released."
                            if released
                            else "Replayed and quarantined again: 1 error(s).",
                        )
                    )
            Through.objects.bulk_create(links)
            CaseTransition.objects.bulk_create(transitions)
        print(f"  {start + count:,} of {total:,}", end="\r")
    print()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    common.mark_dataset("quarantine", DATASET)
    seconds = time.perf_counter() - started
    print(f"  generated in {seconds:.0f} s")
    return seconds


# --- measuring --------------------------------------------------------------------------------


def main():
    url = common.database_url("hub_bench_quarantine")
    common.setup(url)
    generated = ensure_dataset()

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from quarantine.models import QuarantineCase

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(get_user_model().objects.get(username="bench-steward-0"))
    open_cases = QuarantineCase.objects.filter(status__in=QuarantineCase.OPEN_STATUSES)
    open_count = open_cases.count()
    filtered_count = open_cases.filter(rules__code="XREF_UNRESOLVED").count()

    def bare_count():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM quarantine_quarantinecase "
                "WHERE status IN ('open', 'in_review')"
            )
            return cursor.fetchone()[0]

    def filtered_bare_count():
        return open_cases.filter(rules__code="XREF_UNRESOLVED").count()

    def page(path):
        def get():
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            return response

        return get

    runs = [
        ("floor: count(*) of open cases", bare_count, None),
        ("floor: count of the filtered queue", filtered_bare_count, None),
        ("queue, filtered to one rule", page("/quarantine/?rule=XREF_UNRESOLVED"), "queue"),
        ("queue, filtered to one team", page("/quarantine/?team=procurement"), None),
        ("queue, rule and plant", page("/quarantine/?rule=ITEM_OBSOLETE&plant=PL007"), None),
        ("queue, unfiltered (all open)", page("/quarantine/"), None),
        ("dashboard", page("/quarantine/dashboard/"), "dashboard"),
    ]
    figures = {"open_cases": open_count, "filtered_cases": filtered_count, "repeat": REPEAT}
    rows = []
    medians = {}
    for name, function, key in runs:
        function()  # warm: connection, caches, templates
        times, result = common.timed(function, REPEAT)
        median, p95 = common.percentile(times, 0.5), common.percentile(times, 0.95)
        rows.append((name, median, p95, min(times)))
        figures[name] = {
            "median_ms": round(median, 2),
            "p95_ms": round(p95, 2),
            "min_ms": round(min(times), 2),
        }
        if key:
            medians[key] = median
            if hasattr(result, "content"):
                figures[name]["html_bytes"] = len(result.content)
    common.print_table(
        f"quarantine screens: {open_count:,} open cases ({filtered_count:,} XREF_UNRESOLVED), "
        f"{REPEAT} runs each",
        ["request", "median ms", "p95 ms", "min ms"],
        rows,
    )
    checks = [
        common.check("queue with a filter (median)", medians["queue"], TARGET_QUEUE_MS, unit=" ms"),
        common.check("dashboard (median)", medians["dashboard"], TARGET_DASHBOARD_MS, unit=" ms"),
    ]
    extra = {"generated_seconds": generated, "dataset": DATASET}
    return common.finish("quarantine", figures, checks, extra)


if __name__ == "__main__":
    sys.exit(main())

"""The figures the review screens show: counts per filter value for the queue, and the
dashboard's aging, replay and intervention figures.

Everything is counted in the database with grouped aggregates (never by reading cases into
Python), so the figures stay quick at 100,000 open cases: one grouped query per facet or
dimension, each with the four age buckets as conditional counts over `opened_at`.
"""

import datetime
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from core.db import counts_between
from mdm.models import CodeValue, SourceSystem
from quarantine import masters
from quarantine.filters import AGE_BUCKETS, CaseFilter, age_bounds
from quarantine.models import CaseTransition, QuarantineCase
from validation.models import MessageType, Rule, Team
from xref import matching
from xref.models import Kind
from xref.records import records_by_id
from xref.resolve import RESOLVED, InvalidKeys, resolve_many
from xref.services import target_by_key, target_key, target_name

OPEN = QuarantineCase.OPEN_STATUSES
FACET_VALUES = 8  # values listed per facet, most frequent first
DASHBOARD_ROWS = 10  # rows per dimension on the dashboard
OLDEST = 10
DAYS = 30  # the dashboard's window for replays and interventions
# Queue parameters that are not filters of a facet: counting ignores them.
NOT_FILTERS = ("page", "ordering", "run")


@dataclass
class Facet:
    """A filter of the queue whose values are counted: the query parameter, its label, the
    field counted, and the labels of known values."""

    param: str
    label: str
    field: str | tuple
    choices: dict = field(default_factory=dict)
    # For a sender's code (plant, supplier): the case's field, counted per system and code
    # (`field`), then summed per master record (quarantine.masters). Items are no facet: a
    # queue of 100,000 cases names thousands; the item filter takes an ITM- id or a code.
    master: str = ""


FACETS = (
    Facet("status", "Status", "status", dict(QuarantineCase.Status.choices)),
    Facet("team", "Team", "team", dict(Team.choices)),
    Facet("rule", "Rule", "rules__code"),
    Facet("plant", "Plant", ("system_id", "plant"), master="plant"),
    Facet("supplier", "Supplier", ("system_id", "supplier"), master="supplier"),
    Facet("system", "Source system", "system_id"),
    Facet("message_type", "Message type", "message_type", dict(MessageType.choices)),
)


def bucket_counts(now, opened_at="opened_at"):
    """Conditional counts of cases per age bucket, with the bounds the queue's age filter
    uses (quarantine.filters), for .aggregate() or .annotate(); `opened_at` is the path to
    the case's opening time from the model counted."""
    return counts_between(opened_at, {key: age_bounds(key, now) for key, _ in AGE_BUCKETS})


BUCKET_KEYS = [key for key, _ in AGE_BUCKETS]


# --- the queue ------------------------------------------------------------------------------


def filtered_cases(data, queryset=None):
    """(filterset, cases matching the queue's parameters)."""
    filterset = CaseFilter(
        data, queryset=QuarantineCase.objects.all() if queryset is None else queryset
    )
    return filterset, filterset.qs


def facet_counts(data, now=None, limit=FACET_VALUES):
    """For every facet, its values with the number of cases each would show: counted with
    all the other filters applied but not the facet's own, so a chosen value still shows its
    alternatives.

    The facets without a chosen value and the status facet (the queue always filters by
    status) come from one grouped query over the cases matching every filter but the status,
    grouped by status and each facet (GROUPING SETS on PostgreSQL), the chosen statuses
    summed here; a chosen facet costs one query more, and the rules (a many-to-many) one of
    their own.

    Returns ([{"facet": Facet, "values": [(value, label, count)], "more": bool}], the age
    buckets last; and the number of cases the queue shows, which the same query counts)."""
    now = now or timezone.now()
    params = _filter_params(data)
    # The statuses the queue shows (an unknown one is ignored by the filter, as here).
    known = set(QuarantineCase.Status.values)
    statuses = (set(params.getlist("status")) & known) or known

    def without(*names):
        others = params.copy()
        for name in names:
            others.pop(name, None)
        cases = filtered_cases(others)[1]
        if "status" in names:
            # Every status, said outright: PostgreSQL then reads the narrow covering index on
            # (status, opened_at) instead of the whole table.
            cases = cases.filter(status__in=sorted(known))
        return cases.order_by()

    columns = [f for f in FACETS if f.param not in ("rule", "status")]
    unchosen = [f.field for f in columns if not params.get(f.param)]
    by_status = grouped(without("status"), unchosen, now)
    counted = {field: _summed(values, statuses) for field, values in by_status.items() if field}
    counted["status"] = dict(by_status[None])
    shown = sum(n for status, (n, _) in by_status[None].items() if status in statuses)
    ages = _summed({"all": by_status[None]}, statuses).get("all")
    for facet in columns:
        if params.get(facet.param):
            chosen = grouped(without(facet.param), [facet.field], now)
            counted[facet.field] = _summed(chosen[facet.field], statuses)
    if params.get("age"):
        ages = _summed({"all": grouped(without("age"), [], now)[None]}, statuses).get("all")
    counted["rules__code"] = rules_grouped(without("rule"), now, buckets=False)
    systems = _system_codes()
    result = []
    for facet in FACETS:
        labels, codes = facet.choices, {}
        if facet.master:
            merged = masters.merge_counts(facet.master, counted[facet.field])
            values = {value: entry["count"] for value, entry in merged.items()}
            labels = {value: _record_label(value, entry) for value, entry in merged.items()}
            codes = {value: _codes_beside(value, entry) for value, entry in merged.items()}
        else:
            values = {value: total for value, (total, _) in counted[facet.field].items()}
        if facet.param == "system":
            values = {systems.get(key, key): n for key, n in values.items()}
        if facet.param == "rule":
            labels = rule_titles()
            codes = {value: value for value in values if labels.get(value, value) != value}
        ranked = sorted(values.items(), key=lambda pair: (-pair[1], str(pair[0])))
        rows = [(value, labels.get(value, value or "(none)"), n) for value, n in ranked[:limit]]
        result.append({"facet": facet, "values": rows, "more": len(values) > limit, "codes": codes})
    ages = dict(zip(BUCKET_KEYS, ages[1] if ages else [0] * len(BUCKET_KEYS), strict=True))
    result.append(
        {
            "facet": Facet("age", "Age", "opened_at"),
            "values": [(key, label, ages[key]) for key, label in AGE_BUCKETS],
            "more": False,
            "codes": {},
        }
    )
    return result, shown


def _record_label(value, entry):
    """A facet value's words: the record's id and name, or the sender's code."""
    if entry["record"] is not None:
        return entry["record"].label
    return value or "(none)"


def _codes_beside(value, entry):
    """What a value shows small beside its words: a master record's sender codes, or that a
    sender's code is not in master data."""
    if entry["record"] is None:
        return "not in master data" if value else ""
    return ", ".join(entry["codes"])


def _summed(values, statuses):
    """{value: {status: (count, buckets)}} -> {value: (count, buckets)} over `statuses`,
    leaving out values with no case in them."""
    summed = {}
    for value, per_status in values.items():
        count, buckets = 0, [0] * len(BUCKET_KEYS)
        for status, (n, bucket_counts_) in per_status.items():
            if status in statuses:
                count += n
                buckets = [a + b for a, b in zip(buckets, bucket_counts_, strict=True)]
        if count:
            summed[value] = (count, buckets)
    return summed


def grouped(cases, fields, now):
    """Cases per status and value of each of `fields`, with their age buckets:
    {field: {value: {status: (count, [count per bucket])}}}, and under the key None the
    same per status for all `cases`: {status: (count, buckets)}. A field may be a tuple of
    fields, grouped together, its values tuples. One query on PostgreSQL (GROUPING SETS),
    one per field and one more elsewhere."""
    if connection.vendor == "postgresql" and fields:
        return _grouping_sets(cases, fields, now)
    found = {}
    for name in fields:
        names = _names(name)
        rows = (
            cases.values_list(*names, "status")
            .annotate(n=Count("pk"), **bucket_counts(now))
            .order_by()
        )
        found[name] = {}
        width = len(names)
        for row in rows:
            value = row[0] if isinstance(name, str) else tuple(row[:width])
            status, n, buckets = row[width], row[width + 1], list(row[width + 2 :])
            found[name].setdefault(value, {})[status] = (n, buckets)
    rows = cases.values_list("status").annotate(n=Count("pk"), **bucket_counts(now)).order_by()
    found[None] = {status: (n, list(buckets)) for status, n, *buckets in rows}
    return found


def _names(field):
    return (field,) if isinstance(field, str) else tuple(field)


def _grouping_sets(cases, fields, now):
    """One scan for many group-bys: GROUP BY GROUPING SETS ((status, a), (status, b, c), ...,
    (status)), each row with its age buckets as filtered counts; each row's set is known by
    which columns it groups (GROUPING of each)."""
    model_fields = list(dict.fromkeys(name for field in fields for name in _names(field)))
    column = {name: cases.model._meta.get_field(name).column for name in model_fields}
    inner_sql, inner_params = cases.values(
        *model_fields, "status", "opened_at"
    ).query.sql_with_params()
    buckets, bucket_params = [], []
    for key in BUCKET_KEYS:
        after, until = age_bounds(key, now)
        conditions = []
        if after is not None:
            conditions.append("opened_at > %s")
            bucket_params.append(after)
        if until is not None:
            conditions.append("opened_at <= %s")
            bucket_params.append(until)
        buckets.append(f"COUNT(*) FILTER (WHERE {' AND '.join(conditions)})")
    sets = [
        "(status, " + ", ".join(f'"{column[name]}"' for name in _names(field)) + ")"
        for field in fields
    ] + ["(status)"]
    selected = ["status"] + [f'"{column[name]}"' for name in model_fields]
    selected += [f'GROUPING("{column[name]}")' for name in model_fields]
    sql = (
        f"SELECT {', '.join(selected + ['COUNT(*)'] + buckets)} "
        f"FROM ({inner_sql}) AS cases GROUP BY GROUPING SETS ({', '.join(sets)})"
    )
    by_set = {frozenset(_names(field)): field for field in fields}
    found = {field: {} for field in fields}
    found[None] = {}
    width = len(model_fields)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*bucket_params, *inner_params])
        for row in cursor.fetchall():
            status, values = row[0], dict(zip(model_fields, row[1 : 1 + width], strict=True))
            grouping = row[1 + width : 1 + 2 * width]
            counts = (row[1 + 2 * width], list(row[2 + 2 * width :]))
            present = frozenset(
                name for name, flag in zip(model_fields, grouping, strict=True) if not flag
            )
            if not present:  # the (status) set
                found[None][status] = counts
                continue
            field = by_set[present]
            value = values[field] if isinstance(field, str) else tuple(values[n] for n in field)
            found[field].setdefault(value, {})[status] = counts
    return found


def rules_grouped(cases, now, buckets=True):
    """{rule code: (count, [count per bucket])} over `cases`: one join with the many-to-many
    table, grouped by rule id, the codes of the few rules looked up by id. No DISTINCT is
    needed: a case has a rule at most once, and `cases` is never already joined to the rules
    (the rule facet is counted without the rule filter). Without `buckets`, the bucket
    counts are empty."""
    aggregates = bucket_counts(now) if buckets else {}
    rows = cases.values_list("rules").annotate(n=Count("pk"), **aggregates).order_by()
    codes = _rule_codes()
    return {
        codes.get(rule_id, str(rule_id)): (n, list(buckets))
        for rule_id, n, *buckets in rows
        if rule_id is not None
    }


def _rule_codes():
    return dict(Rule.objects.values_list("pk", "code"))


def _system_codes():
    return dict(SourceSystem.objects.values_list("pk", "code"))


def queue_rows(cases):
    """The cases of a queue page with what a row shows, without the payloads."""
    return (
        cases.select_related("message", "system", "assignee")
        .only(
            "id",
            "status",
            "team",
            "plant",
            "supplier",
            "item",
            "message_type",
            "opened_at",
            "overdue_at",
            "message__public_id",
            "system__code",
            "system__name",
            "assignee__username",
        )
        .prefetch_related("rules")
    )


def describe(cases):
    """The cases (of a page) as the screens show them: each with `records` (the master
    record of its plant, supplier and item, quarantine.masters) and `rule_labels` [(title,
    code)], in a fixed number of queries."""
    cases = masters.attach(cases)
    titles = rule_titles()
    for case in cases:
        case.rule_labels = [
            (titles.get(rule.code, rule.code), rule.code) for rule in case.rules.all()
        ]
    return cases


def _filter_params(data):
    params = data.copy()
    for name in NOT_FILTERS:
        params.pop(name, None)
    return params


# --- the dashboard --------------------------------------------------------------------------


# The dashboard's windows for what happened (replays, interventions, the key figures that
# look back), the default first; open cases are counted as they are now.
WINDOWS = {
    "7d": ("last 7 days", datetime.timedelta(days=7)),
    "1d": ("last 24 hours", datetime.timedelta(days=1)),
    "30d": ("last 30 days", datetime.timedelta(days=30)),
}
DEFAULT_WINDOW = "7d"


def dashboard_figures(now=None, window=DEFAULT_WINDOW):
    """Everything the dashboard shows, as plain data; `window` is a key of WINDOWS."""
    now = now or timezone.now()
    window_text, span = WINDOWS[window]
    open_cases = QuarantineCase.objects.filter(status__in=OPEN).order_by()
    dimensions = {"team": "team", "plant": ("system_id", "plant")}
    dimensions["supplier"] = ("system_id", "supplier")
    by_status = grouped(open_cases, list(dimensions.values()), now)
    counted = {name: _summed(by_status[field], OPEN) for name, field in dimensions.items()}
    total, buckets = _summed({"all": by_status[None]}, OPEN).get("all", (0, [0] * 4))
    days = max(span.days, 1)
    return {
        "now": now,
        "window": window,
        "window_text": window_text,
        "span": span,
        "totals": {"total": total, **dict(zip(BUCKET_KEYS, buckets, strict=True))},
        "buckets": [
            (key, label, count) for (key, label), count in zip(AGE_BUCKETS, buckets, strict=True)
        ],
        "by_team": _top(counted["team"], labels=dict(Team.choices)),
        "by_rule": _top(rules_grouped(open_cases, now), labels=rule_titles()),
        "by_plant": _top_records("plant", counted["plant"]),
        "by_supplier": _top_records("supplier", counted["supplier"]),
        "replays": replay_success(now, days=days),
        "interventions": interventions_per_day(now, days=days),
        "oldest": describe(oldest_cases()),
    }


def _top(values, limit=DASHBOARD_ROWS, labels=None):
    """The `limit` values with most open cases: {"rows": [(label, value, [count per
    bucket], total)], "groups": how many values have open cases}."""
    labels = labels or {}
    ranked = sorted(values.items(), key=lambda pair: (-pair[1][0], str(pair[0])))
    rows = [
        (labels.get(value, value) if value not in (None, "") else "(none)", value, b, n)
        for value, (n, b) in ranked[:limit]
    ]
    return {"rows": rows, "groups": len(values)}


def _top_records(field, per_code, limit=DASHBOARD_ROWS):
    """Like _top, per master record (the sender's codes of each summed), with "codes":
    {value: the sender's codes, joined}; the label is the record's id and name (or the
    sender's code, "not in master data"), the value what the queue's filter takes."""
    merged = masters.merge_counts(field, per_code)
    values = {value: (entry["count"], entry["buckets"]) for value, entry in merged.items()}
    labels, codes = {}, {}
    for value, entry in merged.items():
        if entry["record"] is not None:
            labels[value] = entry["record"].label
            codes[value] = ", ".join(entry["codes"])
        elif value:
            labels[value] = value
            codes[value] = "not in master data"
    return {**_top(values, limit, labels), "codes": codes}


# Label values of key figures that are codes of the hub's own (actions, outcomes, triggers):
# said in words.
KPI_WORD_LABELS = ("action", "outcome", "trigger")


def kpi_label_words(results):
    """{(kpi name, label name): {value: words}} for the key figures' label values that are
    codes: suppliers (public ids) by id and name, acknowledgement statuses by their meaning
    with the code beside, the hub's own action and outcome codes in words."""
    found = {}
    suppliers = set()
    for figure, result in results:
        for name in figure.labels:
            samples = result if isinstance(result, list) else []
            values = {sample.labels.get(name) for sample in samples}
            if name == "supplier":
                suppliers |= {(figure.name, value) for value in values if value}
            elif name in KPI_WORD_LABELS:
                found[(figure.name, name)] = {
                    value: str(value).replace("_", " ").capitalize() for value in values if value
                }
            elif name == "status" and figure.name.startswith("hub_supply_exceptions"):
                meanings = code_meanings(ACK_STATUS_LIST)
                found[(figure.name, name)] = {
                    value: f"{meanings[value]} ({value})" for value in values if value in meanings
                }
    records = records_by_id({(Kind.SUPPLIER, value) for _, value in suppliers})
    for kpi_name, value in suppliers:
        record = records.get((Kind.SUPPLIER, value))
        if record is not None:
            found.setdefault((kpi_name, "supplier"), {})[value] = record.label
    return found


ACK_STATUS_LIST = "ACK_LINE_STATUS"


def code_meanings(code_list):
    """{canonical code: meaning} of a code list."""
    return dict(CodeValue.objects.filter(code_list__code=code_list).values_list("code", "meaning"))


def replay_success(now, days=DAYS):
    """Outcomes of replays in the last `days` days (by a person, by auto-replay, after a fix
    or an edit) and how many released the message. The outcome of a replay is the
    transition quarantine.receivers records when validation answers: resolved by replay, or
    "Replayed and quarantined again" / "Replayed, but ..." (a dead letter)."""
    since = now - datetime.timedelta(days=days)
    resolved = Q(to_status=QuarantineCase.Status.RESOLVED_BY_REPLAY)
    failed = Q(reason__startswith="Replayed and quarantined again") | Q(
        reason__startswith="Replayed, but"
    )
    figures = (
        CaseTransition.objects.filter(at__gte=since)
        .filter(resolved | failed)
        .order_by()
        .aggregate(total=Count("pk"), released=Count("pk", filter=resolved))
    )
    figures["failed"] = figures["total"] - figures["released"]
    figures["rate"] = figures["released"] / figures["total"] if figures["total"] else None
    figures["days"] = days
    return figures


def interventions_per_day(now, days=DAYS):
    """Transitions made by a person (not by the hub itself) per day, oldest day first, with
    the days without any: [(date, count)]."""
    today = timezone.localdate(now)
    first = today - datetime.timedelta(days=days - 1)
    since = now - datetime.timedelta(days=days)
    counts = dict(
        CaseTransition.objects.filter(at__gte=since, by__isnull=False)
        .annotate(day=TruncDate("at"))
        .values_list("day")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return [
        (day, counts.get(day, 0))
        for day in (first + datetime.timedelta(days=n) for n in range(days))
    ]


def oldest_cases(limit=OLDEST):
    """The open cases open longest. One query per open status, so that each reads the first
    rows of the (status, opened_at) index instead of sorting every open case."""
    found = []
    for status in OPEN:
        cases = QuarantineCase.objects.filter(status=status).order_by("opened_at", "id")
        found += queue_rows(cases)[:limit]
    return sorted(found, key=lambda case: (case.opened_at, case.pk))[:limit]


# --- the case -------------------------------------------------------------------------------


def search_master(kind, text, limit=10):
    """Records of `kind` that `text` may mean, best first: [{"id", "name", "score"}]. Items,
    suppliers and locations go through the matcher (names, numbers, identifiers); other kinds
    are looked up by their key (a unit's code, ITM-000123/B for a revision)."""
    text = (text or "").strip()
    if not text:
        return []
    if kind in matching.KINDS:
        return [
            {"id": c.id, "name": c.name, "score": c.score}
            for c in matching.match(kind, text, limit=limit)
        ]
    try:
        record = target_by_key(kind, text)
    except (ValidationError, ValueError):
        return []
    return [{"id": target_key(kind, record), "name": target_name(kind, record), "score": None}]


def case_history(case):
    return list(case.transitions.select_related("by").order_by("at", "id"))


def payload_revisions(message):
    return list(
        message.payload_revisions.select_related("author").defer("payload").order_by("number")
    )


def rule_descriptions(codes):
    return dict(Rule.objects.filter(code__in=codes).values_list("code", "description"))


def worded(diagnostics, system):
    """The diagnostics with their words: `rule_title` (rule_titles), and for a unit's value
    `value_name`: the unit the sending `system` (its code) means by it, "Box (XBX)", through
    the cross-references (one batch)."""
    titles = rule_titles()
    units = sorted({d["value"] for d in diagnostics if _names_unit(d)})
    names = {}
    try:
        answers = resolve_many([(Kind.UNIT, system, code) for code in units], near_misses=False)
    except InvalidKeys:
        answers = []
    for code, answer in zip(units, answers, strict=False):
        if answer["status"] == RESOLVED:
            names[code] = f"{answer['record']['name']} ({answer['id']})"
    return [
        {
            **d,
            "rule_title": titles.get(d.get("rule"), ""),
            "value_name": names.get(d.get("value")) if _names_unit(d) else None,
        }
        for d in diagnostics
    ]


def _names_unit(diagnostic):
    path = str(diagnostic.get("path") or "")
    return path.endswith(("unit", "uom", "unit_of_measure")) and isinstance(
        diagnostic.get("value"), str
    )


def rule_titles():
    """{rule code: a short title}: the first sentence of its description, else the code."""
    return {code: _first_sentence(text) or code for code, text in _rule_texts().items()}


def _rule_texts():
    return dict(Rule.objects.values_list("code", "description"))


def _first_sentence(text, length=50):
    """The description's first sentence, cut at a word to about `length` characters."""
    text = (text or "").strip()
    cut = text.find(". ")
    text = text[:cut] if cut > 0 else text.rstrip(".")
    if len(text) <= length:
        return text
    return text[:length].rsplit(" ", 1)[0] + "…"

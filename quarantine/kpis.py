"""The hub's key figures (KPIs), computed from the database when asked: the quarantine
dashboard shows them and /metrics (hub.metrics) exposes them to Prometheus.

Nothing is counted in a process: every figure is an aggregate query run at request time, so
whichever web process answers gives the same numbers, and what the workers did is counted
too. Each query reads an index, or a window of recent rows found through one, never a whole
large table:

- messages: the (-received_at) index for the recent window, the status index for the
  pending and dead-letter ones (few by nature);
- quarantine cases: the covering (status, opened_at) index, as the dashboard does;
- case transitions: the window of recent ones by primary key (see `_recent_transitions`).

Adding a KPI is one function and one registration: decorate a function `(now, window)`
that returns a list of `Sample` (a gauge, one sample per label set) or a `Distribution`
with `@kpi(...)`. The dashboard and /metrics both pick it up; README's "Metrics" section
lists each name.
"""

import datetime
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from django.db.models import Count, Min, Q
from django.utils import timezone

from quarantine.models import CaseTransition, QuarantineCase
from quarantine.queries import rules_grouped
from validation import flows, reports
from validation.models import InboundMessage, MessageType, SupplyException

DAY = datetime.timedelta(hours=24)
WEEK = datetime.timedelta(days=7)
# Units a value can have; the dashboard formats by them.
COUNT, SECONDS, RATIO = "count", "seconds", "ratio"
# Upper bounds (seconds) of the forecast latency histogram: a minute to a day.
LATENCY_BUCKETS = (60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600)
QUANTILES = (0.5, 0.95)

Status = InboundMessage.Status
PENDING = (Status.RECEIVED, Status.VALIDATING)


@dataclass(frozen=True)
class Sample:
    """One value of a gauge, with its labels ({"rule": "ITEM_OBSOLETE"})."""

    labels: dict
    value: float


@dataclass(frozen=True)
class Distribution:
    """Durations (seconds) seen in a window, for a histogram and its quantiles."""

    values: tuple

    @property
    def count(self):
        return len(self.values)

    @property
    def total(self):
        return sum(self.values)

    @property
    def average(self):
        return self.total / self.count if self.values else None

    @property
    def maximum(self):
        return max(self.values, default=None)

    def quantile(self, q):
        """The nearest-rank quantile (an observed value), None when there are none."""
        if not self.values:
            return None
        ordered = sorted(self.values)
        return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]

    def buckets(self, bounds=LATENCY_BUCKETS):
        """[(upper bound, values at or below it)] cumulative, +Inf last."""
        found = [(bound, sum(v <= bound for v in self.values)) for bound in bounds]
        return found + [(math.inf, self.count)]


@dataclass(frozen=True)
class Kpi:
    """A registered key figure: its Prometheus name, what the dashboard calls it, one
    sentence of meaning (the HELP line), its labels and unit, and the window it looks at
    (None: everything there is now)."""

    name: str
    title: str
    help: str
    compute: Callable = field(repr=False)
    labels: tuple = ()
    unit: str = COUNT
    window: datetime.timedelta | None = None

    def evaluate(self, now):
        return self.compute(now, self.window)

    @property
    def window_text(self):
        if self.window is None:
            return "now"
        hours = int(self.window.total_seconds() // 3600)
        return f"last {hours} hours" if hours < 48 else f"last {hours // 24} days"


KPIS = []


def kpi(name, title, help, *, labels=(), unit=COUNT, window=None):
    """Register the decorated function `(now, window) -> [Sample] | Distribution` as a KPI."""

    def register(function):
        if any(known.name == name for known in KPIS):
            raise ValueError(f"A KPI named {name!r} is registered already.")
        KPIS.append(Kpi(name, title, help, function, tuple(labels), unit, window))
        return function

    return register


def evaluate(now=None, window=None):
    """[(kpi, its result)] for every registered KPI, in registration order. With `window`
    (a timedelta), every KPI that looks back looks back that far (the dashboard's one
    window), the KPI given with it; /metrics keeps each KPI's own."""
    now = now or timezone.now()
    figures = KPIS
    if window is not None:
        figures = [replace(f, window=window) if f.window else f for f in KPIS]
    return [(figure, figure.evaluate(now)) for figure in figures]


# --- messages: what an operator looks at first ----------------------------------------------


@kpi(
    "hub_messages_received",
    "Messages received",
    "Messages received in the window, by message type and current status.",
    labels=("type", "status"),
    window=DAY,
)
def messages_received(now, window):
    rows = (
        InboundMessage.objects.filter(received_at__gt=now - window)
        .values_list("message_type", "status")
        .annotate(n=Count("pk"))
        .order_by("message_type", "status")
    )
    return [Sample({"type": kind, "status": status}, n) for kind, status, n in rows]


@kpi(
    "hub_messages_pending",
    "Messages waiting for validation",
    "Messages received or being validated (not final yet), by message type and status.",
    labels=("type", "status"),
)
def messages_pending(now, window):
    rows = (
        InboundMessage.objects.filter(status__in=PENDING)
        .values_list("message_type", "status")
        .annotate(n=Count("pk"))
        .order_by("message_type", "status")
    )
    return [Sample({"type": kind, "status": status}, n) for kind, status, n in rows]


@kpi(
    "hub_messages_oldest_pending_age_seconds",
    "Oldest message waiting for validation",
    "Seconds since the oldest message not final yet was received (0 when none waits).",
    unit=SECONDS,
)
def oldest_pending_age(now, window):
    pending = InboundMessage.objects.filter(status__in=PENDING)
    oldest = pending.aggregate(oldest=Min("received_at"))["oldest"]
    return [Sample({}, max((now - oldest).total_seconds(), 0) if oldest else 0)]


@kpi(
    "hub_messages_dead_letter",
    "Dead letters",
    "Messages that failed technically after their retries (dead letter), by message type.",
    labels=("type",),
)
def dead_letters(now, window):
    rows = (
        InboundMessage.objects.filter(status=Status.DEAD_LETTER)
        .values_list("message_type")
        .annotate(n=Count("pk"))
        .order_by("message_type")
    )
    return [Sample({"type": kind}, n) for kind, n in rows]


# --- forecasts ------------------------------------------------------------------------------


@kpi(
    "hub_forecast_release_latency_seconds",
    "Forecast to release latency",
    "Seconds from receiving a forecast (its first part) to releasing it, over the forecasts "
    "received in the window and released since.",
    unit=SECONDS,
    window=WEEK,
)
def forecast_release_latency(now, window):
    """A release in parts counts once, from part 1 (the message that holds the release's
    claim and outcome). Forecasts are released per plan version, a few a day, so reading
    the window's durations costs little."""
    rows = (
        InboundMessage.objects.filter(
            received_at__gt=now - window,
            message_type=MessageType.FORECAST,
            status=Status.RELEASED,
            finished_at__isnull=False,
        )
        .filter(Q(part_number__isnull=True) | Q(part_number=1))
        .values_list("received_at", "finished_at")
        .order_by()
    )
    return Distribution(
        tuple(max((done - received).total_seconds(), 0.0) for received, done in rows)
    )


@kpi(
    "hub_forecast_releases_pending",
    "Forecast releases waiting for the ERP",
    "Forecast releases (the latest version of each plan) the ERP has not accepted or rejected yet.",
)
def forecast_releases_pending(now, window):
    return [Sample({}, flows.releases(flows.PENDING).count())]


@kpi(
    "hub_forecast_release_pending_age_seconds",
    "Oldest forecast release waiting for the ERP",
    "Seconds since the oldest forecast release still waiting for the ERP's decision was "
    "released (0 when none waits).",
    unit=SECONDS,
)
def forecast_release_pending_age(now, window):
    return [Sample({}, flows.oldest_pending_release(now))]


@kpi(
    "hub_forecast_to_order_latency_seconds",
    "Forecast to order latency",
    "Seconds from a forecast release to each purchase order change released in the window "
    "that names it as its demand (demand_reference).",
    unit=SECONDS,
    window=WEEK,
)
def forecast_to_order_latency(now, window):
    return Distribution(tuple(flows.forecast_to_order_seconds(now - window)))


# --- quarantine: exceptions, interventions, replays -----------------------------------------


# What counts as a failed message: refused by its contract, stopped by a business rule (it
# has a quarantine case, whatever became of it since) or failed technically (dead letter).
FAILED = Q(status__in=(Status.REJECTED, Status.DEAD_LETTER)) | Q(quarantine_case__isnull=False)


def _messages_by_system(now, window):
    """[(system code, message type, received, failed)] over the window's messages."""
    return (
        InboundMessage.objects.filter(received_at__gt=now - window)
        .values_list("system__code", "message_type")
        .annotate(total=Count("pk"), failed=Count("pk", filter=FAILED))
        .order_by("system__code", "message_type")
    )


@kpi(
    "hub_integration_messages_received",
    "Messages received by system",
    "Messages received in the window, by sending system and message type (what the failure "
    "rate is a share of).",
    labels=("system", "type"),
    window=DAY,
)
def messages_by_system(now, window):
    rows = _messages_by_system(now, window)
    return [Sample({"system": system, "type": kind}, total) for system, kind, total, _ in rows]


@kpi(
    "hub_integration_failure_ratio",
    "Integration failure rate",
    "Share of the messages received in the window that failed: refused by their contract, "
    "quarantined by a rule (even if released since) or dead-lettered; by sending system and "
    "message type.",
    labels=("system", "type"),
    unit=RATIO,
    window=DAY,
)
def integration_failure_rate(now, window):
    rows = _messages_by_system(now, window)
    return [
        Sample({"system": system, "type": kind}, failed / total)
        for system, kind, total, failed in rows
    ]


@kpi(
    "hub_quarantine_open_cases",
    "Open quarantine cases by team",
    "Open quarantine cases (open or in review), by the team that owns the fix.",
    labels=("team",),
)
def open_cases_by_team(now, window):
    rows = (
        QuarantineCase.objects.filter(status__in=QuarantineCase.OPEN_STATUSES)
        .values_list("team")
        .annotate(n=Count("pk"))
        .order_by("team")
    )
    return [Sample({"team": team}, n) for team, n in rows]


@kpi(
    "hub_quarantine_open_cases_by_rule",
    "Open quarantine cases by rule",
    "Open quarantine cases by the rule that holds them (exceptions by type); a case held by "
    "two rules counts under both.",
    labels=("rule",),
)
def open_cases_by_rule(now, window):
    cases = QuarantineCase.objects.filter(status__in=QuarantineCase.OPEN_STATUSES).order_by()
    counted = rules_grouped(cases, now, buckets=False)
    return [Sample({"rule": rule}, n) for rule, (n, _) in sorted(counted.items())]


@kpi(
    "hub_quarantine_oldest_open_case_age_seconds",
    "Oldest open quarantine case",
    "Seconds since the oldest open quarantine case was opened (0 when none is open).",
    unit=SECONDS,
)
def oldest_open_case_age(now, window):
    # One query per open status, each reading the first entry of the (status, opened_at)
    # index, instead of a MIN over every open case.
    ages = []
    for status in QuarantineCase.OPEN_STATUSES:
        first = (
            QuarantineCase.objects.filter(status=status)
            .order_by("opened_at")
            .values_list("opened_at", flat=True)
            .first()
        )
        if first is not None:
            ages.append((now - first).total_seconds())
    return [Sample({}, max(max(ages, default=0), 0))]


# What each action of a person writes on the case's log (quarantine.services): the reject and
# the override end in their own status, the others keep the status and say what they did.
INTERVENTIONS = {
    "assign": Q(reason__startswith="Assigned to") | Q(reason__startswith="Unassigned by"),
    "replay": Q(reason__startswith="Replayed by"),
    "edit": Q(reason__startswith="Payload edited by"),
    "fix": Q(reason__startswith="Cross-reference #"),
    "reject": Q(to_status=QuarantineCase.Status.REJECTED),
    "release_by_override": Q(to_status=QuarantineCase.Status.RELEASED_BY_OVERRIDE),
}
# The actions of a person that validate the message again.
MANUAL_REPLAY = INTERVENTIONS["replay"] | INTERVENTIONS["edit"] | INTERVENTIONS["fix"]
AUTOMATIC_REPLAY = Q(by__isnull=True, reason__startswith="Replayed automatically")
# What the hub writes when a replay's outcome comes back (quarantine.receivers).
REPLAY_OUTCOMES = {
    "released": Q(to_status=QuarantineCase.Status.RESOLVED_BY_REPLAY),
    "quarantined_again": Q(reason__startswith="Replayed and quarantined again"),
    "failed": Q(reason__startswith="Replayed, but"),
}


def _recent_transitions(since):
    """Case transitions written after `since`. The log is only appended to, each row stamped
    with the time it is written, so ids grow with `at`: the window is the rows after the
    newest one older than `since`, found by walking the primary key back from the end (as
    long as the window), where a filter on `at` alone (not indexed) would read the whole
    log."""
    before = (
        CaseTransition.objects.filter(at__lte=since)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    return CaseTransition.objects.filter(pk__gt=before or 0, at__gt=since).order_by()


@kpi(
    "hub_quarantine_manual_interventions",
    "Manual interventions",
    "Actions people took on quarantine cases in the window, by action (assign, replay, edit, "
    "fix, reject, release_by_override).",
    labels=("action",),
    window=DAY,
)
def manual_interventions(now, window):
    counts = (
        _recent_transitions(now - window)
        .filter(by__isnull=False)
        .aggregate(**{name: Count("pk", filter=match) for name, match in INTERVENTIONS.items()})
    )
    return [Sample({"action": name}, counts[name]) for name in INTERVENTIONS]


@kpi(
    "hub_quarantine_replays",
    "Replays",
    "Replays of quarantined messages started in the window, by trigger: manual (a person "
    "replayed, edited or fixed the case) or automatic (master data or a cross-reference "
    "changed).",
    labels=("trigger",),
    window=DAY,
)
def replays(now, window):
    counts = _recent_transitions(now - window).aggregate(
        manual=Count("pk", filter=Q(by__isnull=False) & MANUAL_REPLAY),
        automatic=Count("pk", filter=AUTOMATIC_REPLAY),
    )
    return [Sample({"trigger": name}, counts[name]) for name in ("manual", "automatic")]


@kpi(
    "hub_quarantine_replay_outcomes",
    "Replay outcomes",
    "Outcomes of replays that came back in the window: released, quarantined again, or "
    "failed (dead letter).",
    labels=("outcome",),
    window=DAY,
)
def replay_outcomes(now, window):
    counts = (
        _recent_transitions(now - window)
        .filter(by__isnull=True)
        .aggregate(**{name: Count("pk", filter=match) for name, match in REPLAY_OUTCOMES.items()})
    )
    return [Sample({"outcome": name}, counts[name]) for name in REPLAY_OUTCOMES]


# --- the document ledger and supply exceptions ---------------------------------------------


@kpi(
    "hub_ack_turnaround_seconds",
    "Acknowledgement turnaround",
    "Average seconds from a purchase order's release to its first acknowledgement, per "
    "supplier, over the orders released in the window.",
    labels=("supplier",),
    unit=SECONDS,
    window=WEEK,
)
def ack_turnaround(now, window):
    found = reports.acknowledgement_turnaround(since=now - window)
    return [Sample({"supplier": s}, f["avg_seconds"]) for s, f in found.items()]


@kpi(
    "hub_ship_notice_coverage_ratio",
    "Ship notice coverage",
    "Share of the window's receipt lines that a ship notice announced before the receipt.",
    unit=RATIO,
    window=WEEK,
)
def ship_notice_coverage(now, window):
    return [Sample({}, reports.ship_notice_coverage(since=now - window)["share"])]


@kpi(
    "hub_supply_exceptions_open",
    "Open supply exceptions",
    "Open supply exceptions by the acknowledgement's canonical status.",
    labels=("status",),
)
def open_supply_exceptions(now, window):
    rows = (
        SupplyException.objects.filter(state=SupplyException.State.OPEN)
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by("status")
    )
    return [Sample({"status": status}, n) for status, n in rows]


@kpi(
    "hub_supply_exceptions_open_by_plant",
    "Open supply exceptions by plant",
    "Open supply exceptions by plant (public id; '-' for none).",
    labels=("plant",),
)
def open_supply_exceptions_by_plant(now, window):
    return [Sample({"plant": g.key or flows.NONE}, g.total) for g in flows.exceptions_by_plant(now)]


@kpi(
    "hub_supply_exceptions_open_by_commodity",
    "Open supply exceptions by commodity",
    "Open supply exceptions by the item's commodity ('-' for none).",
    labels=("commodity",),
)
def open_supply_exceptions_by_commodity(now, window):
    groups = flows.exceptions_by_commodity(now)
    return [Sample({"commodity": g.key or flows.NONE}, g.total) for g in groups]


@kpi(
    "hub_supply_exception_oldest_age_seconds",
    "Oldest open supply exception by plant",
    "Seconds since the oldest open supply exception of each plant was raised.",
    labels=("plant",),
    unit=SECONDS,
)
def oldest_supply_exception(now, window):
    rows = (
        flows.open_exceptions()
        .order_by()
        .values_list("plant__public_id")
        .annotate(oldest=Min("raised_at"))
        .order_by("plant__public_id")
    )
    return [
        Sample({"plant": plant or flows.NONE}, (now - at).total_seconds()) for plant, at in rows
    ]


@kpi(
    "hub_orders_awaiting_acknowledgement",
    "Orders waiting for an acknowledgement",
    "Purchase orders whose latest change no acknowledgement has answered yet, by supplier "
    "(public id).",
    labels=("supplier",),
)
def orders_awaiting_acknowledgement(now, window):
    return [Sample({"supplier": g.key}, g.total) for g in flows.awaiting_by_supplier(now)]


@kpi(
    "hub_order_acknowledgement_wait_seconds",
    "Longest wait for an acknowledgement",
    "Seconds since the latest change of each supplier's longest-waiting unacknowledged "
    "purchase order was released.",
    labels=("supplier",),
    unit=SECONDS,
)
def acknowledgement_wait(now, window):
    rows = (
        flows.orders_awaiting_acknowledgement()
        .order_by()
        .values_list("supplier__public_id")
        .annotate(oldest=Min("changed_at"))
        .order_by("supplier__public_id")
    )
    return [Sample({"supplier": s}, max((now - at).total_seconds(), 0)) for s, at in rows]


@kpi(
    "hub_ship_notice_latency_seconds",
    "Ship notice latency",
    "Average time per supplier over the notices recorded in the window, in whole days as the "
    "documents date them: leg dispatch_to_notice (ship date to the notice reaching the hub) "
    "and notice_to_receipt (the notice to the first receipt against it).",
    labels=("supplier", "leg"),
    unit=SECONDS,
    window=WEEK,
)
def ship_notice_latency(now, window):
    day = flows.DAY.total_seconds()
    samples = []
    for row in flows.notice_latency_by_supplier(now - window):
        legs = {
            "dispatch_to_notice": row.dispatch_to_notice_days,
            "notice_to_receipt": row.notice_to_receipt_days,
        }
        samples += [
            Sample({"supplier": row.supplier, "leg": leg}, days * day)
            for leg, days in legs.items()
            if days is not None
        ]
    return samples

"""The supply flows as the seed's dashboards see them, read off the document ledger: forecast
releases the ERP has not accepted yet, orders whose latest change no acknowledgement has
answered, how late ship notices come and how long goods take after them, supply exceptions
by how long they have been open, and how long an order change follows the forecast it names.

Each figure is one grouped query (aging counts are conditional counts over the time column,
as the quarantine dashboard's are) or a read of a window's rows; the same querysets give the
lists behind each chart, so a chart's bar and the list it opens count the same rows. The
quarantine dashboard and /metrics (quarantine.kpis) and the flow screens all read them here.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Exists, Min, OuterRef, Q
from django.utils import timezone

from core.db import counts_between
from validation.models import (
    Acknowledgement,
    ForecastRelease,
    PurchaseOrder,
    PurchaseOrderChange,
    ReceiptLine,
    ShipNotice,
    SupplyException,
)

DAY = datetime.timedelta(days=1)
# The age buckets of the flows' aging charts: (key, label, upper bound of the age). Business
# documents wait days, not the minutes a quarantine case is counted in.
AGES = (
    ("lt1d", "under a day", DAY),
    ("lt3d", "1 to 3 days", 3 * DAY),
    ("lt7d", "3 to 7 days", 7 * DAY),
    ("older", "a week or more", None),
)
AGE_KEYS = tuple(key for key, _, _ in AGES)
AGE_LABELS = {key: label for key, label, _ in AGES}


def age_bounds(key, now):
    """(after, at or before) of an age bucket on a time column; either may be None."""
    index = AGE_KEYS.index(key)
    younger = AGES[index - 1][2] if index else None
    older = AGES[index][2]
    return (now - older if older else None, now - younger if younger else None)


def in_age(queryset, key, now, column):
    """The rows of `queryset` whose `column` falls in the age bucket `key`."""
    after, until = age_bounds(key, now)
    if after is not None:
        queryset = queryset.filter(**{f"{column}__gt": after})
    if until is not None:
        queryset = queryset.filter(**{f"{column}__lte": until})
    return queryset


def age_counts(now, column):
    """Conditional counts per age bucket of `column`, for .aggregate() or .annotate()."""
    return counts_between(column, {key: age_bounds(key, now) for key in AGE_KEYS})


@dataclass(frozen=True)
class Group:
    """One bar of an aging chart: what it groups by (a record's public id, a commodity), its
    label in words, and its counts per age bucket in AGES order."""

    key: str
    label: str
    ages: tuple

    @property
    def total(self):
        return sum(self.ages)


def _grouped(queryset, now, column, by):
    """Groups of `queryset` by `by` (a By), with counts per age of `column`, largest first."""
    rows = queryset.order_by().values(by.key, *by.fields).annotate(**age_counts(now, column))
    groups = [
        Group(row[by.key] or "", by.words(row), tuple(row[age] for age in AGE_KEYS)) for row in rows
    ]
    return sorted(groups, key=lambda group: (-group.total, group.label))


@dataclass(frozen=True)
class By:
    """What an aging chart groups by: the field whose value keys a group, the fields its
    words need, and the words (from a row of those values)."""

    key: str
    fields: tuple
    words: object


def _named(prefix, empty):
    """The words of a group keyed by a record: "name (public id)", `empty` without one."""

    def words(row):
        public_id = row[f"{prefix}__public_id"]
        return f"{row[f'{prefix}__name']} ({public_id})" if public_id else empty

    return words


SUPPLIER = By("supplier__public_id", ("supplier__name",), _named("supplier", "No supplier"))
PLANT = By("plant__public_id", ("plant__name",), _named("plant", "No plant"))
COMMODITY = By("item__commodity", (), lambda row: row["item__commodity"] or "No commodity")


# --- forecast releases and the ERP's acceptance ----------------------------------------------

PENDING, ACCEPTED, REJECTED, SUPERSEDED = "pending", "accepted", "rejected", "superseded"
RELEASE_STATES = (
    (PENDING, "Pending acceptance"),
    (ACCEPTED, "Accepted"),
    (REJECTED, "Rejected"),
    (SUPERSEDED, "Superseded before a decision"),
)


def releases(state=PENDING):
    """Forecast releases in a state: pending (the latest version of its plan, no decision
    from the ERP yet), accepted, rejected, or superseded (a newer version came before any
    decision). Newest release first."""
    # A forecast's message is large (its payload, and its released payload as big again):
    # only its public id is shown.
    found = ForecastRelease.objects.select_related("system", "decided_by", "message").defer(
        "message__payload", "message__released_payload", "message__diagnostics"
    )
    newer = ForecastRelease.objects.filter(
        system=OuterRef("system"), plan_id=OuterRef("plan_id"), version__gt=OuterRef("version")
    )
    undecided = found.filter(decision="")
    if state == PENDING:
        found = undecided.filter(~Exists(newer))
    elif state == SUPERSEDED:
        found = undecided.filter(Exists(newer))
    else:
        found = found.filter(decision=state)
    return found.order_by("-released_at", "-pk")


def pending_releases_aging(now):
    """Pending releases per age bucket (since the release): [(key, label, count)]."""
    counts = releases(PENDING).aggregate(**age_counts(now, "released_at"))
    return [(key, AGE_LABELS[key], counts[key]) for key in AGE_KEYS]


def oldest_pending_release(now):
    """Seconds the oldest pending release has waited for the ERP (0 when none waits)."""
    oldest = releases(PENDING).aggregate(oldest=Min("released_at"))["oldest"]
    return max((now - oldest).total_seconds(), 0.0) if oldest else 0.0


# --- orders waiting for an acknowledgement --------------------------------------------------


def orders_awaiting_acknowledgement():
    """Orders released through the hub whose latest change no acknowledgement has answered
    (none recorded since the change), oldest change first. An open order loaded when the hub
    went live (no message) is left out: its supplier answered it before."""
    answered = Acknowledgement.objects.filter(
        order=OuterRef("pk"), recorded_at__gte=OuterRef("changed_at")
    )
    return (
        PurchaseOrder.objects.filter(message__isnull=False)
        .filter(~Exists(answered))
        .select_related("supplier", "plant", "system")
        .order_by("changed_at", "pk")
    )


def awaiting_by_supplier(now):
    """Orders waiting for an acknowledgement per supplier, by age of their latest change."""
    return _grouped(orders_awaiting_acknowledgement(), now, "changed_at", SUPPLIER)


# --- ship notices: dispatch to notice, notice to receipt ------------------------------------


@dataclass(frozen=True)
class NoticeLatency:
    """A supplier's ship notices over a window: how many, how many days on average from the
    ship date to the day the notice reached the hub, how many of them goods were received
    for and how many days on average from the notice to the first receipt."""

    supplier: str
    label: str
    notices: int
    dispatch_to_notice_days: float
    received: int
    notice_to_receipt_days: float | None


def ship_notices(since=None):
    """Ship notices (recorded since `since`), each with `first_receipt`: the earliest day
    goods were received against it (None before any). Newest first."""
    notices = ShipNotice.objects.select_related("supplier")
    if since is not None:
        notices = notices.filter(recorded_at__gte=since)
    received = ReceiptLine.objects.filter(notice=OuterRef("pk")).order_by("receipt__received_on")
    first = received.values("receipt__received_on")[:1]
    return notices.annotate(first_receipt=first).order_by("-recorded_at", "-pk")


def notice_days(notice):
    """(ship date to notice, notice to first receipt) in whole days, as the documents date
    them (the notice on the day the hub recorded it, in the hub's time zone); the second is
    None until goods are received. A notice sent before the ship date counts 0."""
    noticed = timezone.localdate(notice.recorded_at)
    to_notice = max((noticed - notice.ship_date).days, 0)
    receipt = notice.first_receipt
    return to_notice, (max((receipt - noticed).days, 0) if receipt is not None else None)


def notice_latency_by_supplier(since):
    """NoticeLatency per supplier over the notices recorded since `since`, most notices
    first."""
    spans = defaultdict(lambda: ([], []))
    labels = {}
    for notice in ship_notices(since):
        supplier = notice.supplier
        labels[supplier.public_id] = f"{supplier.name} ({supplier.public_id})"
        to_notice, to_receipt = notice_days(notice)
        spans[supplier.public_id][0].append(to_notice)
        if to_receipt is not None:
            spans[supplier.public_id][1].append(to_receipt)
    found = [
        NoticeLatency(
            supplier,
            labels[supplier],
            len(noticed),
            sum(noticed) / len(noticed),
            len(received),
            sum(received) / len(received) if received else None,
        )
        for supplier, (noticed, received) in spans.items()
    ]
    return sorted(found, key=lambda row: (-row.notices, row.label))


# --- supply exceptions by plant and commodity -----------------------------------------------


def open_exceptions():
    """Open supply exceptions, oldest first."""
    return SupplyException.objects.filter(state=SupplyException.State.OPEN).order_by(
        "raised_at", "pk"
    )


def exceptions_by_plant(now):
    return _grouped(open_exceptions(), now, "raised_at", PLANT)


def exceptions_by_commodity(now):
    return _grouped(open_exceptions(), now, "raised_at", COMMODITY)


# --- forecast to order --------------------------------------------------------------------


def forecast_to_order_seconds(since):
    """Seconds from a forecast release to each order change released since `since` that names
    it as its demand (purchase_order v3's demand_reference), oldest change first. A change
    naming no demand, or one the hub never released, is not counted (the thread screen infers
    those for a person; a figure is only as good as its link)."""
    changes = (
        PurchaseOrderChange.objects.filter(
            released_at__gte=since,
            message__payload__demand_reference__plan_id__isnull=False,
        )
        .order_by("released_at", "pk")
        .values_list(
            "released_at",
            "message__payload__demand_reference__plan_id",
            "message__payload__demand_reference__version",
        )
    )
    changes = list(changes)
    named = {(plan, version) for _, plan, version in changes}
    released = defaultdict(list)
    found = ForecastRelease.objects.filter(plan_id__in={plan for plan, _ in named})
    for plan, version, at in found.values_list("plan_id", "version", "released_at"):
        released[(plan, version)].append(at)
    seconds = []
    for at, plan, version in changes:
        before = [when for when in released.get((plan, version), ()) if when <= at]
        if before:
            seconds.append((at - max(before)).total_seconds())
    return seconds


# --- the lists behind the charts -------------------------------------------------------------

# The value a list's filter takes for a group without a plant, supplier or commodity.
NONE = "-"


def where(queryset, now, *, age=None, column=None, **fields):
    """`queryset` narrowed as a chart's bar narrows it: to an age bucket of `column` (when
    `age` is a key of AGES) and to each given field's value (NONE: the field is empty; an
    empty value or None: no filter). Unknown age keys filter nothing."""
    if age in AGE_KEYS and column:
        queryset = in_age(queryset, age, now, column)
    for field, value in fields.items():
        if value in (None, ""):
            continue
        if value == NONE:
            queryset = queryset.filter(Q(**{f"{field}__isnull": True}) | Q(**{field: ""}))
        else:
            queryset = queryset.filter(**{field: value})
    return queryset

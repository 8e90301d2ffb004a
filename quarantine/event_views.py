"""The events screens, under /quarantine/events/: the subscriptions with their health, a
subscription's deliveries and dead letters (replay and discard, one by one or all), an
event's document and its deliveries' answers, and a replay's progress.

Thin: the health and the replay's progress come from events.health, replay and discard from
events.delivery. A replay only puts the dead letters back in the queue (one UPDATE, however
many), so it runs in the request; what takes time is their delivery, which the workers do.
The page a replay leads to shows that as a progress bar, kept current by polling
`replay_progress`. The permissions are the review screens' (quarantine.views): a login with
the permission to view deliveries to look, the steward role to replay or discard (the
buttons are hidden from others and their POSTs refused with 403).
"""

import functools
import json
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from events import delivery, documents, feed, health
from events.models import Delivery, DeliveryAttempt, Event, Subscription
from mdm.models import SourceSystem
from quarantine import services

VIEW_PERMISSION = "events.view_delivery"
PER_PAGE = 50
# Attempts shown per delivery on an event's page (the newest; the count says how many more).
ATTEMPTS_SHOWN = 10
# The characters of an answer's body shown before "more" (the attempt keeps up to 1,000).
EXCERPT_SHOWN = 200
Status = Delivery.Status
STATUSES = {
    "": "All",
    Status.DEAD: "Dead letters",
    Status.RETRYING: "Retrying",
    Status.PENDING: "Pending",
    Status.DELIVERED: "Delivered",
    Status.DISCARDED: "Discarded",
}
# What an empty list says, per status shown.
EMPTY = {
    "": "No deliveries yet: one is made for each event this subscription wants, once it is "
    "published.",
    Status.DEAD: "No dead letters.",
    Status.RETRYING: "No deliveries waiting for a retry.",
    Status.PENDING: "No deliveries waiting for their first attempt.",
    Status.DELIVERED: "Nothing delivered yet.",
    Status.DISCARDED: "No discarded deliveries.",
}
# The statuses a steward acts on from the list, and what each action applies to.
REPLAYABLE = (Status.DEAD, Status.DISCARDED)
DISCARDABLE = (Status.DEAD,)


def _require_view(user):
    if not user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied("You have no access to the events screens.")


def _require_act(user):
    if not services.can_act(user):
        raise PermissionDenied("Only data stewards replay or discard dead letters.")


def _words_on_404(view):
    """A 404 page in the screens' look that says what was not found (Django's own page
    says nothing of it), or JSON for the progress endpoint."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except Http404 as exc:
            if request.path.endswith(".json"):
                return JsonResponse({"detail": str(exc)}, status=404)
            context = {"words": str(exc), "title": "Not found"}
            return render(request, "quarantine/events_not_found.html", context, status=404)

    return wrapped


def _subscription(pk):
    found = Subscription.objects.filter(pk=pk).first()
    if found is None:
        raise Http404(
            f"No subscription with id {pk}: it may have been deleted. The subscriptions "
            "list shows those there are."
        )
    return found


@login_required
@_words_on_404
def subscriptions(request):
    """Every subscription with its health, the worst first within each consumer's rows."""
    _require_view(request.user)
    shown = health.health(Subscription.objects.order_by("consumer", "name"))
    _name_consumers([row.subscription for row in shown])
    context = {
        "rows": shown,
        "window_hours": int(health.FAILURE_WINDOW.total_seconds() // 3600),
        "can_act": services.can_act(request.user),
    }
    return render(request, "quarantine/events.html", context)


@login_required
@_words_on_404
def subscription(request, pk):
    """A subscription's health and its deliveries, newest first, filtered by status; on the
    dead letters (and the discarded), the steward's replay and discard."""
    _require_view(request.user)
    found = _subscription(pk)
    _name_consumers([found])
    shown = health.health([found])[0]
    status = request.GET.get("status", "")
    status = status if status in STATUSES else ""
    deliveries = found.deliveries.order_by("-position", "-pk")
    if status:
        deliveries = deliveries.filter(status=status)
    page = Paginator(health.with_last_attempt(deliveries), PER_PAGE).get_page(
        request.GET.get("page")
    )
    here = reverse("quarantine:event-subscription", args=[found.pk])
    counts = {
        Status.DEAD: shown.dead,
        Status.RETRYING: shown.retrying,
        Status.PENDING: shown.pending,
    }
    can_act = services.can_act(request.user)
    context = {
        "subscription": found,
        "health": shown,
        "page": page,
        "status": status,
        "status_label": STATUSES[status],
        "empty_words": EMPTY[status],
        "status_tabs": [
            (f"{here}?status={value}", label, counts.get(value), value == status)
            for value, label in STATUSES.items()
        ],
        "page_url": f"{here}?status={status}&page=",
        "replay": _replay_shown(request, found),
        "can_replay": can_act and status in REPLAYABLE,
        "can_discard": can_act and status in DISCARDABLE,
        "excerpt_shown": EXCERPT_SHOWN,
        "next": request.get_full_path(),
        "upcoming": _upcoming(found) if found.mode == Subscription.Mode.PULL else [],
    }
    return render(request, "quarantine/events_subscription.html", context)


def _name_consumers(subscriptions):
    """Each subscription's `consumer_name`: its consuming system's name (the events know the
    system by its code only), or the code when no system has it."""
    codes = {subscription.consumer for subscription in subscriptions}
    names = dict(SourceSystem.objects.filter(code__in=codes).values_list("code", "name"))
    for subscription in subscriptions:
        subscription.consumer_name = names.get(subscription.consumer, subscription.consumer)


def _upcoming(found, limit=20):
    """A pull subscription's next events to read: the first it wants past its cursor."""
    wanted = Event.objects.filter(feed.wanted(found), position__gt=found.cursor)
    return [event for event in wanted.order_by("position")[:limit] if found.matches(event)]


def _replay_shown(request, found):
    """The progress of the replay named by ?replay= (its time as replay_stamp gives it)."""
    stamp = request.GET.get("replay", "")
    if not stamp.isdigit():
        return None
    progress = health.replay_progress(found, health.replay_time(int(stamp)))
    if not progress.total:
        return None
    url = reverse("quarantine:event-replay-progress", args=[found.pk, int(stamp)])
    return {"progress": progress, "url": url}


@login_required
@_words_on_404
def replay_progress(request, pk, stamp):
    """A replay's progress as JSON, for the subscription page's progress bar."""
    _require_view(request.user)
    found = _subscription(pk)
    return JsonResponse(health.replay_progress(found, health.replay_time(stamp)).as_dict())


@login_required
@require_POST
@_words_on_404
def replay(request, pk):
    """Send the chosen dead letters (or discarded deliveries) again; the page shows how far
    their delivery has got."""
    _require_view(request.user)
    _require_act(request.user)
    found = _subscription(pk)
    status = request.POST.get("status")
    if status not in REPLAYABLE:
        status = Status.DEAD
    chosen, asked = _chosen(request, found, status)
    back = f"{reverse('quarantine:event-subscription', args=[found.pk])}?status={status}"
    if chosen is None:
        return redirect(back)
    at = timezone.now()
    count = delivery.replay(chosen, now=at)
    if count:
        messages.success(
            request,
            f"{count} deliver{'ies' if count != 1 else 'y'} sent again, in the order of their "
            "partition keys, each with a fresh dead-letter clock.",
        )
    _left_alone(request, asked, count, "dead letters or discarded")
    if not count:
        return redirect(back)
    # Every delivery, where the replayed ones show how they fare, under the progress bar.
    everything = reverse("quarantine:event-subscription", args=[found.pk])
    return redirect(f"{everything}?replay={health.replay_stamp(at)}")


@login_required
@require_POST
@_words_on_404
def discard(request, pk):
    """Give up the chosen dead letters: never sent, they stop holding their keys back."""
    _require_view(request.user)
    _require_act(request.user)
    found = _subscription(pk)
    chosen, asked = _chosen(request, found, Status.DEAD)
    back = f"{reverse('quarantine:event-subscription', args=[found.pk])}?status={Status.DEAD}"
    if chosen is None:
        return redirect(back)
    count = delivery.discard(chosen)
    if count:
        messages.success(
            request,
            f"{count} dead letter{'s' if count != 1 else ''} discarded: never sent, they no "
            "longer hold back the later events of their partition keys (a replay can still "
            "send them, from Discarded).",
        )
    _left_alone(request, asked, count, "dead letters")
    return redirect(back)


def _chosen(request, found, status):
    """(the deliveries chosen in the form, how many ids were ticked: None for "all"), or
    (None, None) with the error said."""
    deliveries = found.deliveries.filter(status=status)
    if request.POST.get("all") == "1":
        return deliveries, None
    raw = request.POST.getlist("delivery")
    try:
        ids = {int(value) for value in raw}
    except ValueError:
        messages.error(request, "The form sent something other than delivery ids; try again.")
        return None, None
    if not ids:
        messages.error(request, f"Select at least one of the {STATUSES[status].lower()}, or all.")
        return None, None
    return deliveries.filter(pk__in=ids), len(ids)


def _left_alone(request, asked, count, what):
    if asked is not None and count < asked:
        others = asked - count
        messages.warning(
            request,
            f"{others} of the {asked} selected {'were' if others != 1 else 'was'} no longer "
            f"{what} (someone else replayed or discarded them, or they were delivered): left "
            "as they are.",
        )


@login_required
@_words_on_404
def event(request, event_id):
    """An event's document and its deliveries to each subscription, with their answers."""
    _require_view(request.user)
    found = _event(event_id)
    deliveries = list(
        health.with_last_attempt(found.deliveries.select_related("subscription")).order_by(
            "subscription__name"
        )
    )
    attempts = {}
    for attempt in (
        DeliveryAttempt.objects.filter(delivery__event=found)
        .order_by("delivery", "-at", "-pk")
        .only("delivery", "at", "status_code", "error", "duration_ms", "body")
    ):
        attempts.setdefault(attempt.delivery_id, []).append(attempt)
    for shown in deliveries:
        tried = attempts.get(shown.pk, [])
        shown.tried = len(tried)  # `attempts` counts only those since its last replay
        shown.shown_attempts = tried[:ATTEMPTS_SHOWN]
        shown.earlier_attempts = max(len(tried) - ATTEMPTS_SHOWN, 0)
    pulled = [
        (subscription, found.position is not None and subscription.cursor >= found.position)
        for subscription in Subscription.objects.filter(mode=Subscription.Mode.PULL)
        if subscription.matches(found)
    ]
    _name_consumers([shown.subscription for shown in deliveries] + [sub for sub, _ in pulled])
    context = {
        "event": found,
        "document": json.dumps(documents.document(found), indent=2, ensure_ascii=False),
        "deliveries": deliveries,
        "pulled": pulled,
        "excerpt_shown": EXCERPT_SHOWN,
    }
    return render(request, "quarantine/events_event.html", context)


def _event(key):
    """The event of a CloudEvents id (a UUID) or a position; Http404 with what is accepted."""
    found = None
    try:
        found = Event.objects.filter(event_id=uuid.UUID(key)).first()
    except ValueError:
        if key.isdigit():
            found = Event.objects.filter(position=int(key)).first()
    if found is None:
        raise Http404(
            f"No event {key}: give an event's id (the UUID of its document's \"id\") or its "
            "position; events older than the retention are purged."
        )
    return found

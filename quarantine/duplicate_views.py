"""The duplicates review screens: the queue of a kind (clusters of records that may be one
record twice, by score and impact), a pair side by side with the decision and its history,
and a full run with its progress.

Thin: the queue and the comparison come from xref.duplicate_queue, the open cases naming
each record from quarantine.duplicate_cases (cases name no supplier sites: theirs are not
counted). The permissions are the review screens'
(quarantine.views): a login with the permission to view cases to look, the steward role to
decide or start a run (the buttons are hidden from others and their POSTs refused with 403).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from quarantine import services
from quarantine.duplicate_cases import CASE_FIELD, open_cases
from quarantine.views import VIEW_PERMISSION, safe_next
from xref import duplicate_queue
from xref.duplicates import DuplicateError
from xref.matching.calibration import SURE, WORTH_A_LOOK
from xref.models import DuplicatePair, DuplicateRun

Status = DuplicatePair.Status
PER_PAGE = 25
KINDS = {
    "supplier": ("Suppliers", "suppliers"),
    "item": ("Items", "items"),
    "location": ("Locations", "locations"),
    "supplier_site": ("Supplier sites", "supplier sites"),
}
STATUSES = {
    Status.OPEN: "To review",
    Status.LATER: "Later",
    Status.NOT_SAME: "Not the same",
    Status.SAME: "The same",
}
# How sure the queue's pairs must be: the matcher's two documented thresholds.
SCORES = {"sure": SURE, "look": WORTH_A_LOOK}
DONE = {
    Status.SAME: "the same: they are one record, to be merged",
    Status.NOT_SAME: "not the same: the pair is not suggested again unless an identifier of "
    "either record changes",
    Status.LATER: "put off for later",
    Status.OPEN: "undone: the pair is back in the queue",
}


def _require_view(user):
    if not user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied("You have no access to the review screens.")


def _require_act(user):
    if not services.can_act(user):
        raise PermissionDenied("Only data stewards decide on duplicates and look for them.")


def _kind(kind):
    if kind not in KINDS:
        raise Http404(f"No duplicates of kind {kind!r}; the kinds are {', '.join(KINDS)}.")
    return kind


def cases_of(kind):
    """The counter of open cases for records of `kind` (duplicate_queue's `open_cases`), or
    None for a kind no case names."""
    return open_cases if kind in CASE_FIELD else None


@login_required
def duplicates(request, kind):
    """The queue of a kind: clusters by score, then by the open cases and cross-references
    that name their records."""
    _require_view(request.user)
    kind = _kind(kind)
    status = request.GET.get("status")
    status = status if status in STATUSES else Status.OPEN
    scores = request.GET.get("scores")
    scores = scores if scores in SCORES else "sure"
    queued = duplicate_queue.queue(kind, SCORES[scores], status, open_cases=cases_of(kind))
    page = Paginator(queued, PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = duplicate_queue.describe(kind, page.object_list, cases_of(kind))
    run = duplicate_queue.latest_run(kind)
    waiting = dict(
        DuplicatePair.objects.filter(status=Status.OPEN, score__gte=SCORES[scores])
        .values_list("kind")
        .annotate(n=Count("id"))
    )
    here = reverse("quarantine:duplicates", args=[kind])
    context = {
        "kind": kind,
        "kind_label": KINDS[kind][0],
        "kind_plural": KINDS[kind][1],
        "page": page,
        "status": status,
        "status_label": STATUSES[status],
        "scores": scores,
        "kind_tabs": [
            (
                reverse("quarantine:duplicates", args=[other]),
                label,
                waiting.get(other, 0),
                other == kind,
            )
            for other, (label, _) in KINDS.items()
        ],
        "status_tabs": [
            (f"{here}?status={value}&scores={scores}", label, value == status)
            for value, label in STATUSES.items()
        ],
        "score_tabs": [
            (
                f"{here}?status={status}&scores=sure",
                f"Sure ({SURE:.0f}% or more)",
                scores == "sure",
            ),
            (
                f"{here}?status={status}&scores=look",
                f"Worth a look ({WORTH_A_LOOK:.0f}% or more)",
                scores == "look",
            ),
        ],
        "page_url": f"{here}?status={status}&scores={scores}&page=",
        "next": request.get_full_path(),
        "cases_param": CASE_FIELD.get(kind, ""),
        "run": duplicate_queue.run_progress(run) if run else None,
        "run_url": reverse("quarantine:duplicate-run-progress", args=[kind, run.pk]) if run else "",
        "can_act": services.can_act(request.user),
    }
    return render(request, "quarantine/duplicates.html", context)


@login_required
def duplicate_pair(request, kind, pair_id):
    """A pair side by side: differing fields marked, the evidence in words, the decision
    buttons (or undo) and the decision history."""
    _require_view(request.user)
    pair = _pair(_kind(kind), pair_id)
    shown = duplicate_queue.comparison(pair, cases_of(kind))
    back = safe_next(request, reverse("quarantine:duplicates", args=[kind]))
    context = {
        "kind": kind,
        "kind_label": KINDS[kind][0],
        "shown": shown,
        "pair": pair,
        "a": shown.record_a,
        "b": shown.record_b,
        "back": back,
        "cases_param": CASE_FIELD.get(kind, ""),
        "decidable": pair.status in (Status.OPEN, Status.LATER),
        "identifier_words": duplicate_queue.identifier_words(kind),
        "can_act": services.can_act(request.user),
    }
    return render(request, "quarantine/duplicate_pair.html", context)


def _pair(kind, pair_id):
    try:
        return duplicate_queue.pair_of(kind, pair_id)
    except DuplicatePair.DoesNotExist:
        raise Http404(f"No {kind} pair {pair_id}.") from None


@login_required
@require_POST
def duplicate_decide(request, kind, pair_id):
    """A decision from the pair's page: back to the queue it came from, or to the pair with
    what went wrong (an unknown decision, a deleted record, someone else deciding first)."""
    _require_view(request.user)
    _require_act(request.user)
    pair = _pair(_kind(kind), pair_id)
    pair_url = reverse("quarantine:duplicate-pair", args=[kind, pair.pk])
    decision = request.POST.get("decision", "")
    try:
        pair = duplicate_queue.decide(
            kind,
            pair.pk,
            decision,
            request.user,
            request.POST.get("note", ""),
            seen=request.POST.get("seen") or None,
        )
    except (DuplicateError, duplicate_queue.PairChanged) as exc:
        messages.error(request, str(exc))
        return redirect(pair_url)
    except DuplicatePair.DoesNotExist:  # deleted since it was looked up
        raise Http404(f"No {kind} pair {pair_id}.") from None
    messages.success(
        request,
        format_html(
            '<a href="{}">{} and {}</a>: {}.',
            pair_url,
            pair.record_a,
            pair.record_b,
            DONE[pair.status],
        ),
    )
    if decision == Status.OPEN:
        return redirect(pair_url)
    return redirect(safe_next(request, pair_url))


@login_required
@require_POST
def duplicate_run_start(request, kind):
    """Start a full run over the kind; its progress shows on the queue."""
    _require_view(request.user)
    _require_act(request.user)
    kind = _kind(kind)
    duplicate_queue.start_run(kind)
    messages.success(
        request,
        f"Looking for duplicate {KINDS[kind][1]}: every record is compared with the others "
        "in the background. New pairs join the queue as they are found.",
    )
    return redirect("quarantine:duplicates", kind=kind)


@login_required
def duplicate_run_progress(request, kind, run_id):
    """A run's progress as JSON, for the queue's progress bar."""
    _require_view(request.user)
    try:
        run = duplicate_queue.run_of(_kind(kind), run_id)
    except DuplicateRun.DoesNotExist:
        raise Http404(f"No {kind} duplicate run {run_id}.") from None
    return JsonResponse(duplicate_queue.run_progress(run))

"""The merge screens (issue 19, item 4): merging one record of a duplicate pair into the other
with each field's value picked, the merged record, and the list of merges with their undoing.

Thin: the proposal, what would move and what a merge did come from xref.merge_reports, the
merge and the unmerge from xref.merging; this module adds what the quarantine app knows (the
loser's open cases, and the ledger rows the validation app moves with it). The permissions
are the duplicates screens' (quarantine.duplicate_views): a login with the permission to
view cases to look, the steward role to merge or unmerge (the buttons are hidden from others
and their POSTs refused with 403).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from quarantine import services
from quarantine.duplicate_cases import CASE_FIELD, open_cases
from quarantine.duplicate_views import KINDS, _kind, _pair, _require_act, _require_view
from quarantine.views import safe_next
from validation.merging import LEDGER
from xref import merge_reports, merging, sites
from xref.merge_reports import Moving
from xref.merging import MergeConflict, MergeError
from xref.models import DuplicatePair, Merge

Status = DuplicatePair.Status
PER_PAGE = 25
STALE = "One of the records changed since you opened this page; look again."
MERGE_KINDS = {
    "supplier": "Suppliers",
    "item": "Items",
    "location": "Locations",
    sites.KIND: "Supplier sites",
}


# --- merging a pair -------------------------------------------------------------------------


@login_required
def merge_pair(request, kind, pair_id):
    """The merge of one record of a pair into the other: each field's two values side by
    side with the steward's pick, what will move, a reason; POST merges and goes to the
    merged record, or shows the page again with what went wrong and the picks kept."""
    _require_view(request.user)
    if request.method == "POST":
        _require_act(request.user)
    pair = _pair(_kind(kind), pair_id)
    ids = (pair.record_a, pair.record_b)
    wanted = (request.POST if request.method == "POST" else request.GET).get("survivor", "")
    survivor = wanted if wanted in ids else merge_reports.default_survivor(kind, *ids)
    loser = ids[1] if survivor == ids[0] else ids[0]
    page = {"pair": pair, "kind": kind, "survivor_id": survivor, "loser_id": loser}
    if pair.status == Status.NOT_SAME:
        page["error"] = (
            f"{pair.record_a} and {pair.record_b} were decided not the same; undo that "
            "decision on the pair's page before merging them."
        )
        return _render_merge(request, page, status=409)
    if request.method != "POST":
        proposal = _proposal(page, kind, survivor, loser)
        return _render_merge(request, page, proposal, status=200 if proposal else 409)
    picks = {name[5:]: value for name, value in request.POST.items() if name.startswith("pick-")}
    reason = request.POST.get("reason", "").strip()
    seen = {survivor: request.POST.get("seen-survivor"), loser: request.POST.get("seen-loser")}
    page.update(picks=picks, reason=reason)
    proposal = _proposal(page, kind, survivor, loser)
    if proposal is None:
        return _render_merge(request, page, status=409)
    if not all(seen.values()):
        page["error"] = "The page was sent without the records as you saw them; look again."
        return _render_merge(request, page, proposal=proposal, status=400)
    try:
        merge = merging.merge(
            kind,
            survivor,
            loser,
            values=proposal.values(picks),
            user=request.user,
            reason=reason,
            seen=seen,
        )
    except MergeError as exc:
        fresh = _proposal(page, kind, survivor, loser)
        if fresh is not None and _changed(seen, fresh.seen):
            page.update(error=STALE, detail=str(exc), stale=True)
        else:
            page["error"] = str(exc)
        code = 409 if isinstance(exc, MergeConflict) else 400
        return _render_merge(request, page, proposal=fresh, status=code)
    messages.success(
        request,
        f"{loser} merged into {survivor}: its id and every code that named it now lead "
        f"to {survivor}.",
    )
    return redirect("quarantine:merge", merge_id=merge.pk)


def _proposal(page, kind, survivor, loser):
    """The proposal, or None with the reason in page["error"] (a record merged meanwhile)."""
    try:
        return merge_reports.proposal(kind, survivor, loser)
    except MergeError as exc:
        page["error"] = str(exc)
        return None


def _changed(seen, now):
    """Whether a record's updated_at differs from the one the page was built with."""
    for public_id, stamp in seen.items():
        try:
            when = parse_datetime(stamp or "")
        except ValueError:
            when = None
        if when != now.get(public_id):
            return True
    return False


def _render_merge(request, page, proposal=None, status=200):
    kind, pair = page["kind"], page["pair"]
    loser = page["loser_id"]
    pair_url = reverse("quarantine:duplicate-pair", args=[kind, pair.pk])
    picks = page.get("picks") or {}
    context = {
        **page,
        "kind_label": KINDS[kind][0],
        "proposal": proposal,
        "pair_url": pair_url,
        "swap_url": reverse("quarantine:duplicate-merge", args=[kind, pair.pk])
        + "?"
        + urlencode({"survivor": loser}),
        "can_act": services.can_act(request.user),
    }
    if proposal is not None:
        context["rows"] = [
            (group, picks.get(group.lead) or group.default_side) for group in proposal.groups
        ]
        context["moving"] = _moving(kind, loser)
        context["cases_param"] = CASE_FIELD.get(kind, "")
        context["seen"] = {
            side: proposal.seen[getattr(proposal, side).id].isoformat()
            for side in ("survivor", "loser")
        }
        context["survivor"], context["loser"] = proposal.survivor, proposal.loser
    return render(request, "quarantine/merge.html", context, status=status)


def _moving(kind, loser_id):
    """What the merge would move from the loser: the hub's own rows (xref.merge_reports),
    the ledger's documents naming it and its open cases, to be replayed."""
    found = merge_reports.moving(kind, loser_id)
    loser = merging.MODELS[kind].objects.get(public_id=loser_id)
    for model, field, _ in LEDGER.get(kind, ()):
        count = model.objects.filter(**{field: loser}).count()
        if count:
            label = f"{model._meta.label_lower}.{field}"
            found.append(Moving(label, count, merge_reports.moved_words(label, count, kind)))
    cases = open_cases(kind, {loser_id}).get(loser_id, 0)
    if cases:
        label = "quarantine.quarantinecase.replayed"
        found.append(Moving(label, cases, merge_reports.moved_words(label, cases, kind)))
    return found


# --- merges done ----------------------------------------------------------------------------


@login_required
def merges(request):
    """Recent merges, newest first: who merged what into what and why, what moved, and the
    unmerge (or who undid it)."""
    _require_view(request.user)
    kind = request.GET.get("kind", "")
    kind = kind if kind in MERGE_KINDS else ""
    record = request.GET.get("record", "").strip()
    page = Paginator(merge_reports.merges(kind or None, record or None), PER_PAGE).get_page(
        request.GET.get("page")
    )
    page.object_list = merge_reports.described(page.object_list)
    here = reverse("quarantine:merges")
    record_query = {"record": record} if record else {}
    chosen_query = {**record_query, **({"kind": kind} if kind else {})}
    context = {
        "page": page,
        "kind": kind,
        "record": record,
        "kind_tabs": [
            (
                f"{here}?{urlencode({**record_query, **({'kind': value} if value else {})})}",
                label,
                value == kind,
            )
            for value, label in (("", "All"), *MERGE_KINDS.items())
        ],
        "page_url": f"{here}?{urlencode({**chosen_query, 'page': ''})}",
        "next": request.get_full_path(),
        "can_act": services.can_act(request.user),
    }
    return render(request, "quarantine/merges.html", context)


@login_required
def merged(request, merge_id):
    """A merge and the record it left: the survivor with what it took and every system's
    code that now leads to it, what moved, the history the merge wrote, and the unmerge."""
    _require_view(request.user)
    (summary,) = merge_reports.described([_merge(merge_id)])
    merge = summary.merge
    context = {
        "summary": summary,
        "merge": merge,
        "references": merge_reports.references_of(merge.kind, merge.survivor),
        "api_url": sites.record_path(merge.kind, merge.loser),
        "kind_label": MERGE_KINDS[merge.kind],
        "next": request.get_full_path(),
        "can_act": services.can_act(request.user),
    }
    return render(request, "quarantine/merged.html", context)


def _merge(merge_id):
    try:
        return Merge.objects.select_related("decided_by", "undone_by").get(pk=merge_id)
    except Merge.DoesNotExist:
        raise Http404(f"No merge {merge_id}.") from None


@login_required
@require_POST
def unmerge(request, merge_id):
    """Undo a merge, with the steward's reason; back where the form was, with the outcome."""
    _require_view(request.user)
    _require_act(request.user)
    merge = _merge(merge_id)
    back = safe_next(request, reverse("quarantine:merge", args=[merge.pk]))
    try:
        merging.unmerge(merge, user=request.user, reason=request.POST.get("reason", ""))
    except MergeError as exc:
        messages.error(request, f"The merge was not undone: {exc}")
        return redirect(back)
    messages.success(
        request,
        f"Unmerged: {merge.loser} is a record of its own again, with everything the merge "
        f"moved to {merge.survivor}.",
    )
    return redirect(back)

"""The change request screens: the queue (/changes/) and one request's page (/changes/<pk>/)
with its difference in words, what changed since it was asked, its impact, its decisions,
and the buttons of whoever may act on it (POST /changes/<pk>/<action>/).

Thin: the queue's filters are changes.filters', every step is changes.requests' (which checks
again who may take it and writes all of it or nothing). Every screen needs a login with a hub
role (the permission to view change requests: viewers read); acting needs the steward role,
and the step's own permission on top. A refused step shows the page again with the reason and
what was typed: 403 (not yours to take), 409 (decided already, or stale) or 400 (a comment or
reason missing).
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST

from changes import diffs, registry, requests
from changes.filters import SCOPES, ChangeRequestFilter
from changes.models import ChangeRequest
from changes.serializers import is_old
from core.roles import STEWARD, has_role

VIEW_PERMISSION = "changes.view_changerequest"
PER_PAGE = 50
Status = ChangeRequest.Status
# Where a request was asked, as the page says it ("asked ... through the admin").
SOURCES = {"admin": "the admin", "api": "the API", "web": "the web", "import": "a CSV import"}


def _require_view(user):
    if not user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied("You have no access to the change requests.")


def _who(user):
    return (user.get_full_name() or user.get_username()) if user else ""


# --- the queue ------------------------------------------------------------------------------


@login_required
def queue(request):
    _require_view(request.user)
    filterset = ChangeRequestFilter(
        request.GET,
        queryset=ChangeRequest.objects.select_related("requested_by"),
        request=request,
    )
    page = Paginator(filterset.qs, PER_PAGE).get_page(request.GET.get("page"))
    scope = request.GET.get("scope", "")
    counts = {
        "to_review": requests.to_review(request.user).count(),
        "emergency": requests.emergency_unapproved().count(),
    }
    tabs = [{"value": None, "label": "All requests", "chosen": not scope}]
    tabs += [
        {
            "value": value,
            "label": label,
            "count": counts.get(value),
            "chosen": scope == value,
        }
        for value, label in SCOPES
    ]
    known = ChangeRequest.objects.order_by().values_list("kind", "systems").distinct()
    kinds, systems = set(registry.GOVERNED), set()
    for kind, codes in known:
        kinds.add(kind)
        systems.update(codes or ())
    # The page's systems named in one query.
    named = dict(
        registry.systems_in_words(
            sorted({code for change in page.object_list for code in change.systems or ()})
        )
    )
    context = {
        "page": page,
        "rows": [
            {
                "request": change,
                "kind": registry.kind_words(change.kind),
                "systems": [named[code] for code in change.systems or ()],
                "old": is_old(change),
            }
            for change in page.object_list
        ],
        "tabs": tabs,
        "scope": scope,
        "chosen": {name: request.GET.get(name, "") for name in ("status", "kind", "system")},
        "statuses": Status.choices,
        "kinds": sorted(((kind, registry.kind_words(kind)) for kind in kinds), key=lambda k: k[1]),
        "systems": registry.systems_in_words(sorted(systems)),
        "problems": [
            f"{filterset.form.fields[name].label or name}: {' '.join(errors)}"
            for name, errors in filterset.form.errors.items()
        ]
        if filterset.is_bound and not filterset.is_valid()
        else [],
        "old_days": settings.CHANGE_REQUEST_OLD_DAYS,
    }
    return render(request, "changes/queue.html", context)


# --- a request ------------------------------------------------------------------------------


class CommentForm(forms.Form):
    """The reviewer's comment: approving takes one if given, rejecting needs one (the service
    says so, as it does for the API)."""

    comment = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Comment"
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Why it cannot wait for approval",
    )


class NothingForm(forms.Form):
    """Withdraw and rebase take nothing but the button."""


@login_required
def request_page(request, pk):
    _require_view(request.user)
    return _render_request(request, _change_request(pk))


def _change_request(pk):
    return get_object_or_404(
        # The items once: the page, the departures and the impact providers all read them.
        ChangeRequest.objects.select_related(
            "requested_by", "decided_by", "emergency_by"
        ).prefetch_related("items"),
        pk=pk,
    )


def _render_request(request, change, form=None, action=None, error=None, status=200):
    """The request's page; `form` is the bound form of a refused `action`, shown again with
    what was typed, `error` the reason it was refused."""
    user = request.user
    may = _may(user, change)
    review_form = form if action in ("approve", "reject") else CommentForm()
    emergency_form = form if action == "apply-now" else ReasonForm()
    shown = {"approve": may["review"], "reject": may["review"], "apply-now": may["apply_now"]}
    unsaved = []
    if form is not None and not shown.get(action):
        unsaved = [
            (form.fields[name].label, value)
            for name, value in form.data.items()
            if name in form.fields and value.strip()
        ]
    items = list(change.items.all())
    context = {
        "change": change,
        "kind": registry.kind_words(change.kind),
        "systems": [words for _, words in registry.systems_in_words(change.systems)],
        "old": is_old(change),
        "items": [
            {
                "item": item,
                "kind": registry.kind_words(item.model),
                "rows": diffs.worded(item),
                "url": _record_url(item),
            }
            for item in items
        ],
        "batch": _batch(change),
        "departures": requests.departures_in_words(change) if change.status == Status.OPEN else [],
        "impact": _impact(change) if change.status == Status.OPEN else [],
        "history": _history(change),
        "may": may,
        "review_form": review_form,
        "emergency_form": emergency_form,
        "error": error,
        "unsaved": unsaved,
        "is_requester": user.pk == change.requested_by_id,
        "steward": has_role(user, STEWARD),
        "can_approve": user.has_perm(requests.APPROVE),
        "requested_by": _who(change.requested_by),
        "source": SOURCES.get(change.source, change.source),
    }
    return render(request, "changes/request.html", context, status=status)


def _may(user, change):
    """Which buttons the page shows this user (the service checks again on each POST)."""
    steward = has_role(user, STEWARD)
    open_ = change.status == Status.OPEN
    mine = user.pk == change.requested_by_id
    return {
        "review": steward
        and change.awaits_approval
        and user.has_perm(requests.APPROVE)
        and user.pk not in (change.requested_by_id, change.emergency_by_id),
        "withdraw": steward and open_ and mine,
        "rebase": steward and open_ and mine and not change.batch,
        "apply_now": steward and open_ and user.has_perm(requests.EMERGENCY),
    }


def _record_url(item):
    """The record's admin page, when it has one (not a creation not applied yet)."""
    if not item.object_id:
        return ""
    app_label, model_name = item.model.split(".")
    try:
        return reverse(f"admin:{app_label}_{model_name}_change", args=[item.object_id])
    except NoReverseMatch:
        return ""


def _batch(change):
    found = registry.BATCHES.get(change.batch) if change.batch else None
    if found is None:
        return None
    title, url, counts = found.describe(change.batch_reference)
    return {"kind": found.title, "title": title, "url": url, "counts": counts}


def _impact(change):
    return [found for provider in registry.IMPACTS for found in provider(change)]


def _history(change):
    """What happened to the request, in order: (when, who, what, the words they gave)."""
    steps = [(change.requested_at, _who(change.requested_by), "asked for the change", "")]
    if change.rebased_at:
        steps.append(
            (change.rebased_at, _who(change.requested_by), "brought it up to date (rebase)", "")
        )
    if change.emergency_at:
        steps.append(
            (
                change.emergency_at,
                _who(change.emergency_by),
                "applied it as an emergency, before approval",
                change.emergency_reason,
            )
        )
    if change.decided_at:
        if change.status == Status.WITHDRAWN:
            what, who = "withdrew it: nothing was changed", _who(change.requested_by)
        elif change.status == Status.REJECTED:
            what, who = "rejected it", _who(change.decided_by)
            if change.is_emergency:
                what += " (the emergency change stays applied)"
        elif change.is_emergency:
            what, who = "approved it after the fact", _who(change.decided_by)
        else:
            what, who = "approved it, and the change was applied", _who(change.decided_by)
        steps.append((change.decided_at, who, what, change.comment))
    return [{"at": at, "who": who, "what": what, "words": words} for at, who, what, words in steps]


# --- acting on a request --------------------------------------------------------------------


def _approved(change):
    if change.is_emergency:
        return f"{change.number} approved after the fact."
    return f"{change.number} approved: the change is applied."


def _rejected(change):
    if change.is_emergency:
        return (
            f"{change.number} rejected. The emergency change stays applied: undoing it is a "
            "new change."
        )
    return f"{change.number} rejected: nothing was changed."


# action -> (form, service step, what the success message says)
ACTIONS = {
    "approve": (CommentForm, requests.approve, _approved),
    "reject": (CommentForm, requests.reject, _rejected),
    "withdraw": (
        NothingForm,
        requests.withdraw,
        lambda change: f"{change.number} withdrawn: nothing was changed.",
    ),
    "rebase": (
        NothingForm,
        requests.rebase,
        lambda change: f"{change.number} brought up to date with the records as they are now.",
    ),
    "apply-now": (
        ReasonForm,
        requests.apply_now,
        lambda change: (
            f"{change.number} applied as an emergency: it still needs another person's approval."
        ),
    ),
}


@login_required
@require_POST
def request_action(request, pk, action):
    """One step on a request: a POST (with CSRF) that calls the service and comes back to the
    request's page, or shows it again with the reason it was refused."""
    _require_view(request.user)
    if action not in ACTIONS:
        raise Http404("No such action on a change request.")
    form_class, step, said = ACTIONS[action]
    change = _change_request(pk)
    form = form_class(request.POST)
    form.is_valid()  # every field is optional: the service says what is missing

    def refused(error, status):
        return _render_request(
            request, _change_request(pk), form=form, action=action, error=error, status=status
        )

    try:
        if not has_role(request.user, STEWARD):
            raise PermissionDenied("Only data stewards act on change requests.")
        done = step(change, by=request.user, **form.cleaned_data)
    except PermissionDenied as exc:
        return refused(str(exc), 403)
    except requests.Refused as exc:
        return refused(str(exc), 409)
    except ValidationError as exc:
        return refused(" ".join(exc.messages), 400)
    messages.success(request, said(done))
    return redirect("changes:request", pk=pk)

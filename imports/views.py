"""The steward screen at /imports/: upload a file, see its plan row by row (each field's
change, every error, filtered and paged), apply it (or ask for approval, with a reason, when
a policy covers its changes, and see how the request went), see the records written,
download failed rows, a template or an example, revert a run after confirming what it
undoes. Server-rendered; the run page polls a small JSON endpoint for progress while a run
is processed in the background. Stewards only, checked here on every request."""

import functools

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.roles import STEWARD, has_role
from imports import api, applying, approval, enqueue, reverting, rows, runs
from imports.kinds import KINDS
from imports.models import ImportRow, ImportRun

RECENT_RUNS = 30


def steward_required(view):
    @login_required
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if not has_role(request.user, STEWARD):
            raise PermissionDenied("Only stewards may import data.")
        return view(request, *args, **kwargs)

    return wrapped


class UploadForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k.name, k.label) for k in KINDS.values()])
    file = forms.FileField(help_text="CSV, UTF-8, comma or semicolon delimited.")
    skip_errors = forms.BooleanField(
        required=False,
        label="Skip errors",
        help_text="When applying, write the valid rows and return the others as an error file.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.HUB_IMPORT_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is {upload.size:,} bytes; the limit is {limit:,} bytes. "
                "Split it into smaller files."
            )
        return upload


def _context(request, **extra):
    return {**admin.site.each_context(request), **extra}


@steward_required
def index(request):
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            run = runs.start_run(
                form.cleaned_data["kind"],
                form.cleaned_data["file"],
                skip_errors=form.cleaned_data["skip_errors"],
                user=request.user,
            )
            enqueue.on_commit("process_import", run.pk)
            return redirect("imports:run", run.pk)
    else:
        form = UploadForm()
    recent = ImportRun.objects.select_related("created_by")[:RECENT_RUNS]
    kinds = [
        {"kind": kind, "required": kind.required_headers, "headers": kind.headers}
        for kind in KINDS.values()
    ]
    return render(
        request,
        "imports/index.html",
        _context(request, form=form, runs=recent, kinds=kinds, title="CSV imports"),
    )


@steward_required
@require_GET
def run_detail(request, pk):
    run = get_object_or_404(ImportRun.objects.select_related("change_request"), pk=pk)
    return _run_page(request, run)


def _run_page(request, run, apply_error="", reason="", status=200):
    """The run's page; `apply_error` says why its apply was not asked for (a missing reason),
    beside the reason given."""
    action = request.GET.get("action", "")
    action = action if action in rows.ACTIONS else ""
    planned = rows.planned_rows(run, action, request.GET.get("page"))
    rows.link_rows(run, planned.object_list)
    filters = [{"action": "", "label": "All rows", "count": run.plan_counts.get("rows", 0)}]
    filters += [
        {"action": value, "label": label, "count": run.plan_counts.get(value, 0)}
        for value, label in ImportRow.Action.choices
    ]
    written = None
    if run.applied_at:
        written = rows.written_records(run, request.GET.get("written"))
    return render(
        request,
        "imports/run.html",
        _context(
            request,
            run=run,
            title=f"Import #{run.pk}: {KINDS[run.kind].label}",
            kept_rows=rows.KEPT_ROWS,
            planned=planned,
            action=action,
            filters=filters,
            written=written,
            written_counts=rows.written_counts(run) if run.applied_at else None,
            approval=_approval(run),
            apply_error=apply_error,
            reason=reason,
        ),
        status=status,
    )


def _approval(run):
    """What the page says of approval: the request of the run's apply, and the policies that
    make its apply need approval while it can be applied."""
    policies = approval.covering(run) if run.can_apply else []
    return {
        "request": run.change_request,
        "policies": [approval.policy_words(policy) for policy in policies],
    }


@steward_required
@require_GET
def run_progress(request, pk):
    run = get_object_or_404(ImportRun, pk=pk)
    return JsonResponse(
        {
            "status": run.status,
            "status_display": run.get_status_display(),
            "progress": run.progress,
            "busy": run.is_busy,
        }
    )


@steward_required
@require_POST
def run_apply(request, pk):
    run = get_object_or_404(ImportRun, pk=pk)
    reason = request.POST.get("reason", "")
    try:
        run = runs.request_apply(
            run,
            user=request.user,
            skip_errors=bool(request.POST.get("skip_errors")),
            reason=reason,
        )
    except applying.RunError as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        run.refresh_from_db()
        return _run_page(request, run, " ".join(exc.messages), reason, status=400)
    else:
        if run.awaits_approval:
            messages.success(
                request,
                f"Import #{run.pk} awaits approval by another person "
                f"({run.change_request.number}): nothing is written until then.",
            )
    return redirect("imports:run", run.pk)


@steward_required
@require_http_methods(["GET", "POST"])
def run_revert(request, pk):
    """GET: what the revert will undo, and a button to confirm it; POST: revert."""
    run = get_object_or_404(ImportRun, pk=pk)
    if request.method == "GET":
        if not run.can_revert:
            messages.error(
                request,
                f"Import #{run.pk} is {run.get_status_display().lower()}; only an applied "
                "import can be reverted.",
            )
            return redirect("imports:run", run.pk)
        return render(
            request,
            "imports/revert.html",
            _context(
                request,
                run=run,
                title=f"Revert import #{run.pk}?",
                preview=rows.revert_preview(run, request.GET.get("page")),
                written_counts=rows.written_counts(run),
            ),
        )
    try:
        reverting.revert_run(run, user=request.user)
    except applying.RunError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Import #{run.pk} was reverted.")
    return redirect("imports:run", run.pk)


@steward_required
@require_GET
def failed_rows(request, pk):
    return api.failed_rows_response(get_object_or_404(ImportRun, pk=pk))


@steward_required
@require_GET
def template(request, kind):
    return api.template_response(kind)


@steward_required
@require_GET
def example(request, kind):
    return api.example_response(kind)


@steward_required
@require_GET
def export(request, kind):
    return api.export_response(kind)

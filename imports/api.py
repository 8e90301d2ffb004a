"""API v1 for CSV imports: upload a file to plan (or apply) it, follow the run, apply a
planned run (or, when a policy says its changes need approval, ask for it with a reason: the
run awaits approval, and names its change request), revert an applied one, download its
failed rows, a kind's template, an export.

Stewards only may import; any role may read runs, templates and exports.
"""

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from changes.models import ChangeRequest
from core.parsers import JSONParser
from core.problems import ProblemResponse
from imports import applying, enqueue, examples, exporting, reverting, rows, runs
from imports.kinds import KINDS
from imports.models import ImportRow, ImportRun


class RunChangeRequestSerializer(serializers.Serializer):
    """The change request holding a run's apply for approval: open while it waits, then
    applied (approved), rejected or withdrawn (the run is planned again)."""

    id = serializers.IntegerField()
    number = serializers.CharField(help_text='E.g. "CR-000012".')
    status = serializers.ChoiceField(choices=ChangeRequest.Status.choices)
    url = serializers.CharField(help_text="The request in the API (approve, reject, withdraw).")


class ImportRunSerializer(serializers.ModelSerializer):
    counts = serializers.JSONField(read_only=True)
    plan_counts = serializers.JSONField(read_only=True)
    errors = serializers.SerializerMethodField()
    created_by = serializers.SlugRelatedField("username", read_only=True, allow_null=True)
    failed_rows_url = serializers.SerializerMethodField()
    rows_url = serializers.SerializerMethodField(
        help_text="The plan's rows, each with its changes and errors, a page at a time."
    )
    change_request = serializers.SerializerMethodField(
        help_text="The change request of its apply, when a policy said it needs approval "
        "(status awaiting_approval until another person approves it); null otherwise."
    )

    class Meta:
        model = ImportRun
        fields = (
            "id",
            "kind",
            "mode",
            "skip_errors",
            "status",
            "file_name",
            "file_size",
            "progress",
            "plan_counts",
            "counts",
            "message",
            "errors",
            "errors_truncated",
            "failed_rows_url",
            "rows_url",
            "created_by",
            "created_at",
            "finished_at",
            "applied_at",
            "reverted_at",
            "change_request",
        )
        read_only_fields = fields

    def get_errors(self, run) -> list[str]:
        return run.error_lines()

    @extend_schema_field(RunChangeRequestSerializer(allow_null=True))
    def get_change_request(self, run):
        found = run.change_request
        if found is None:
            return None
        return {
            "id": found.pk,
            "number": found.number,
            "status": found.status,
            "url": reverse("change-request-detail", args=[found.pk]),
        }

    def get_rows_url(self, run) -> str:
        return reverse("import-rows", args=[run.pk])

    def get_failed_rows_url(self, run) -> str | None:
        if not run.failed_rows:
            return None
        return reverse("import-failed-rows", args=[run.pk])


class RowChangeField(serializers.ListField):
    """[column, value now (null for a record the row creates), value in the file]"""

    child = serializers.CharField(allow_null=True)


class RowErrorField(serializers.ListField):
    """[column ("" for the row as a whole), message naming the accepted values]"""

    child = serializers.CharField(allow_blank=True)


class ImportRowSerializer(serializers.ModelSerializer):
    """One row of a run's file as its plan judged it."""

    changes = serializers.ListField(
        child=RowChangeField(),
        read_only=True,
        help_text="The fields the row sets: [column, value now, value in the file]; for a "
        "create the value now is null.",
    )
    errors = serializers.ListField(
        child=RowErrorField(),
        read_only=True,
        help_text="Every error of the row: [column, message].",
    )

    class Meta:
        model = ImportRow
        fields = ("number", "action", "key", "record_id", "changes", "errors")
        read_only_fields = fields


class ImportRowPageSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Rows of this action (or all) listed.")
    unlisted = serializers.IntegerField(
        help_text="Rows of this action the plan counted but does not list: past the first "
        "10,000 rows that create a record and the first 10,000 that change nothing."
    )
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    next = serializers.CharField(allow_null=True, help_text="The next page's address.")
    previous = serializers.CharField(allow_null=True)
    results = ImportRowSerializer(many=True)


class ImportRunAcceptedSerializer(ImportRunSerializer):
    """A run still queued or running: the run, a sentence saying so, and where to follow it
    (also in the Location header)."""

    detail = serializers.SerializerMethodField()
    status_url = serializers.SerializerMethodField()

    class Meta(ImportRunSerializer.Meta):
        fields = (*ImportRunSerializer.Meta.fields, "detail", "status_url")
        read_only_fields = fields

    def get_detail(self, run) -> str:
        doing = "applied" if run.plan_fingerprint else "planned"
        return (
            f"Import #{run.pk} is being {doing} ({run.get_status_display().lower()}); follow "
            f"its status at {_status_url(run)} until it is no longer queued or running."
        )

    def get_status_url(self, run) -> str:
        return _status_url(run)


class RunConflictSerializer(serializers.Serializer):
    """The 409's extension member; its `detail` says why the run cannot do it, and what it is
    doing."""

    status_url = serializers.CharField(help_text="Where to follow the run's status.")


class ImportUploadSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=sorted(KINDS))
    mode = serializers.ChoiceField(choices=ImportRun.Mode.choices, default=ImportRun.Mode.PLAN)
    file = serializers.FileField()
    skip_errors = serializers.BooleanField(default=False)
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="With mode apply: why the file is applied. Needed when a policy says its "
        "changes need approval; without it such a run stays planned, saying so.",
    )

    def validate_file(self, upload):
        limit = settings.HUB_IMPORT_MAX_BYTES
        if upload.size > limit:
            raise serializers.ValidationError(
                f"The file is {upload.size:,} bytes; the limit is {limit:,} bytes. "
                "Split it into smaller files."
            )
        return upload


class ImportApplySerializer(serializers.Serializer):
    """The options of an apply (all optional)."""

    skip_errors = serializers.BooleanField(
        required=False, help_text="Write the valid rows of a plan with row errors."
    )
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Why the file is applied: needed when a policy says its changes need "
        "approval (a 400 without it).",
    )


class ImportRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Import runs: POST a CSV file (multipart: kind, mode plan|apply, file, skip_errors,
    reason) to plan it, or plan and apply it; large files are processed in the background, so follow
    the run's status and progress with GET."""

    queryset = ImportRun.objects.select_related("created_by", "change_request")
    serializer_class = ImportRunSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]  # core's: the hub's JSON limits

    @extend_schema(
        request=ImportUploadSerializer,
        responses={
            201: OpenApiResponse(ImportRunSerializer, description="Done already (a small file)."),
            202: OpenApiResponse(
                ImportRunAcceptedSerializer,
                description="Stored and queued or running in the background: follow "
                "`status_url` (also the Location header). A broker that is down delays the "
                "run until the sweep sends it again; it is never lost.",
            ),
        },
    )
    def create(self, request):
        upload = ImportUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        data = upload.validated_data
        run = runs.start_run(
            data["kind"],
            data["file"],
            mode=data["mode"],
            skip_errors=data["skip_errors"],
            user=request.user,
            reason=data["reason"],
        )
        enqueue.on_commit("process_import", run.pk)
        return self._accepted(run)

    @extend_schema(
        request=ImportApplySerializer,
        responses={
            200: OpenApiResponse(
                ImportRunSerializer,
                description="The apply finished before the answer (tasks run in the web "
                "process): `status` says how (applied, refused, failed); or, when a policy "
                "says its changes need approval, `status` is awaiting_approval and "
                "`change_request` names the request another person approves.",
            ),
            400: OpenApiResponse(
                description="Its changes need approval and no `reason` was given: nothing "
                "was changed."
            ),
            202: OpenApiResponse(
                ImportRunAcceptedSerializer,
                description="Queued for its apply, or applying: follow `status_url` (also "
                "the Location header) until `status` is applied, refused or failed.",
            ),
            409: OpenApiResponse(
                RunConflictSerializer,
                description="Not applied by this request: already being applied (asked "
                "for by another request), or not a planned run without row errors.",
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def apply(self, request, pk=None):
        """Apply a planned run in the background (refused when the data changed since the
        plan). Of two requests at once, one queues the apply (202) and the other is told
        that it is already being applied (409). A run whose changes a policy says need
        approval is not applied: it awaits approval, held by one change request asked for
        with `reason`, and is applied, all or none, when another person approves it."""
        run = self.get_object()
        if not isinstance(request.data, dict):  # a form's QueryDict is one too
            raise ValidationError('Send the options as an object, e.g. {"skip_errors": true}.')
        options = ImportApplySerializer(data=request.data)
        options.is_valid(raise_exception=True)
        try:
            runs.request_apply(
                run,
                user=request.user,
                skip_errors=_true(request.data.get("skip_errors")),
                reason=options.validated_data["reason"],
            )
        except applying.RunError as exc:
            return ProblemResponse(409, str(exc), status_url=_status_url(run))
        return self._accepted(run, done=status.HTTP_200_OK)

    @extend_schema(
        request=None,
        responses={
            200: ImportRunSerializer,
            409: OpenApiResponse(
                RunConflictSerializer,
                description="Not reverted by this request: not an applied run (reverted "
                "already, perhaps by another request at the same time), or a record it "
                "wrote was changed since.",
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def revert(self, request, pk=None):
        """Undo an applied run."""
        run = self.get_object()
        try:
            reverting.revert_run(run, user=request.user)
        except applying.RunError as exc:
            return ProblemResponse(409, str(exc), status_url=_status_url(run))
        return Response(self.get_serializer(run).data)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "action",
                str,
                enum=rows.ACTIONS,
                description="Only the rows the plan would create, update, leave unchanged, or "
                "refuse with errors.",
            ),
            OpenApiParameter("page", int, description=f"{rows.PAGE_SIZE} rows a page, from 1."),
        ],
        responses={200: ImportRowPageSerializer},
    )
    @action(detail=True, methods=["get"], url_path="rows", url_name="rows")
    def plan_rows(self, request, pk=None):
        """The plan's rows in file order, a page at a time: what each row creates or
        updates (each field's value now and in the file), unchanged rows, and every error
        of a row with the values it accepts."""
        run = self.get_object()
        action_filter = request.query_params.get("action", "")
        paged = rows.planned_rows(run, action_filter, request.query_params.get("page"))
        base = request.build_absolute_uri(request.path)

        def address(number):
            query = f"?page={number}" + (f"&action={action_filter}" if action_filter else "")
            return base + query

        body = {
            "count": paged.paginator.count,
            # Rows the plan counted but did not keep: past the first rows.KEPT_ROWS that
            # create a record or change nothing.
            "unlisted": paged.unlisted,
            "page": paged.number,
            "pages": paged.paginator.num_pages,
            "next": address(paged.next_page_number()) if paged.has_next() else None,
            "previous": address(paged.previous_page_number()) if paged.has_previous() else None,
            "results": ImportRowSerializer(paged.object_list, many=True).data,
        }
        return Response(body)

    @extend_schema(responses={(200, "text/csv"): str})
    @action(detail=True, methods=["get"], url_path="failed-rows", url_name="failed-rows")
    def failed_rows(self, request, pk=None):
        """The rows that failed, as CSV with an `error` column; fix them and import again."""
        run = self.get_object()
        return failed_rows_response(run)

    def _accepted(self, run, done=status.HTTP_201_CREATED):
        """202 with where to follow it while the run is queued or running; else `done`."""
        run.refresh_from_db()
        if not run.is_busy:
            return Response(self.get_serializer(run).data, status=done)
        body = ImportRunAcceptedSerializer(run, context=self.get_serializer_context()).data
        response = Response(body, status=status.HTTP_202_ACCEPTED)
        response["Location"] = _status_url(run)
        return response


def _status_url(run):
    return reverse("import-detail", args=[run.pk])


def _true(value):
    return str(value).lower() in ("1", "true", "yes", "on")


# The CSV downloads, shared by the API and the screen: Http404 is a 404 in both (DRF turns it
# into its NotFound with the same message).


def failed_rows_response(run):
    if not run.failed_rows:
        raise Http404("This run has no failed rows.")
    return FileResponse(
        run.failed_rows.open("rb"),
        as_attachment=True,
        filename=f"import-{run.pk}-{run.kind}-failed.csv",
        content_type="text/csv; charset=utf-8",
    )


def template_response(kind):
    return _kind_file(kind, "template", exporting.template_csv)


def example_response(kind):
    return _kind_file(kind, "example", examples.example_csv)


def _kind_file(kind, name, make):
    if kind not in KINDS:
        raise Http404(f"No kind {kind!r} (known: {', '.join(KINDS)}).")
    response = HttpResponse(make(kind), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{kind}-{name}.csv"'
    return response


def export_response(kind):
    if kind not in KINDS:
        raise Http404(f"No kind {kind!r} (known: {', '.join(KINDS)}).")
    response = StreamingHttpResponse(
        exporting.export_chunks(kind), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{kind}.csv"'
    return response


class TemplateView(APIView):
    """The header line of a kind's CSV file, to fill in."""

    @extend_schema(responses={(200, "text/csv"): str})
    def get(self, request, kind):
        return template_response(kind)


class ExampleView(APIView):
    """A kind's header line and one example row, valid against the demo data."""

    @extend_schema(responses={(200, "text/csv"): str})
    def get(self, request, kind):
        return example_response(kind)


class ExportView(APIView):
    """Every record of a kind as CSV, in the import's format."""

    @extend_schema(responses={(200, "text/csv"): str})
    def get(self, request, kind):
        return export_response(kind)

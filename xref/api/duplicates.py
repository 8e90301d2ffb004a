"""API v1 duplicates: the review queue of records that may be one record twice, the
side-by-side comparison of a pair, stewards' decisions on it, and full runs that look for
more. Thin views over `xref.duplicate_queue` (and `xref.duplicates` beneath it).

Stewards decide and start runs; viewers read the queue as the review screens let them;
integration clients have no use for it (they resolve codes, which a merge keeps working).
"""

from django.urls import reverse
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent, build_choice_field
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from core.problems import ProblemResponse
from core.roles import STEWARD, VIEWER
from xref import duplicate_queue, duplicates, sites
from xref.duplicates import DuplicateError
from xref.matching.calibration import SURE, WORTH_A_LOOK
from xref.models import DuplicatePair, DuplicateRun

Status = DuplicatePair.Status
READERS = (STEWARD, VIEWER)
KIND_PARAMETER = OpenApiParameter(
    "kind",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    enum=list(duplicate_queue.KINDS),
    description="Record kind: item, supplier, location or supplier_site.",
)
PAIR_PARAMETER = OpenApiParameter(
    "pair_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The pair's id"
)
RUN_PARAMETER = OpenApiParameter(
    "run_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The run's id"
)
NOT_FOUND = OpenApiResponse(description="No such kind, or no such pair or run of the kind.")
STATUS_HELP = (
    "open: waiting for a decision; same: one record twice (to be merged); not_same: two "
    "records (never suggested again while their identifiers stay as they are); later: put off."
)


def _kind(kind):
    try:
        return duplicates.kind_of(kind)
    except DuplicateError:
        raise NotFound(
            f"No duplicates of kind {kind!r}; the kinds are {', '.join(duplicate_queue.KINDS)}."
        ) from None


def _record_url(request, record):
    """The record's URL in the API; a supplier site's is under its supplier, by its code."""
    if record.kind == sites.KIND:
        path = sites.site_path(record.supplier, record.number)
    else:
        path = reverse(f"{record.kind}-detail", kwargs={"public_id": record.id})
    return request.build_absolute_uri(path)


# --- serializers (the shapes the views write; explicit for the schema) ----------------------


class NamedChoiceField(serializers.ChoiceField):
    """A choice field whose enum is one named schema component (`component`): other records
    have a "status" too, with other choices."""

    component = ""


class NamedChoiceFieldSchema(OpenApiSerializerFieldExtension):
    target_class = NamedChoiceField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        name = self.target.component
        component = ResolvedComponent(
            name=name,
            type=ResolvedComponent.SCHEMA,
            object=name,
            schema=build_choice_field(self.target),
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref


class PairStatusField(NamedChoiceField):
    component = "DuplicatePairStatus"

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", STATUS_HELP)
        super().__init__(
            choices=Status.choices,
            error_messages={
                "invalid_choice": f'"{{input}}" is no status; choose one of '
                f"{', '.join(Status.values)}."
            },
            **kwargs,
        )


class RunStatusField(NamedChoiceField):
    component = "DuplicateRunStatus"

    def __init__(self, **kwargs):
        super().__init__(choices=DuplicateRun.Status.choices, **kwargs)


class DuplicateSystemReferencesSerializer(serializers.Serializer):
    system = serializers.CharField(source="code", help_text="The source system's code")
    name = serializers.CharField(help_text="The source system's name")
    references = serializers.IntegerField(help_text="Its active cross-references to the record")


class DuplicateRecordSerializer(serializers.Serializer):
    """A record of a pair or cluster."""

    id = serializers.CharField(help_text="Public id, e.g. SUP-000045")
    name = serializers.CharField(
        help_text="Name (items: description; supplier sites: their supplier's); empty if deleted"
    )
    number = serializers.CharField(help_text="The hub's own number (locations, sites: code)")
    supplier = serializers.CharField(
        help_text="Supplier sites: their supplier's public id; else empty"
    )
    supplier_number = serializers.CharField(
        help_text="Supplier sites: their supplier's number; else empty"
    )
    address = serializers.CharField(
        help_text='Supplier sites: the address on one line ("Hafenstraße 12, 97421 '
        'Schweinfurt"); else empty'
    )
    identifiers = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        help_text='The kind\'s identifiers, e.g. {"duns": "", "lei": "", "vat": "DE136695976"}',
    )
    exists = serializers.BooleanField(help_text="False: deleted since the pair was found")
    url = serializers.SerializerMethodField(help_text="The record in the API")
    references = serializers.IntegerField(help_text="Active cross-references, all systems")
    systems = DuplicateSystemReferencesSerializer(many=True)

    def get_url(self, record) -> str | None:
        return _record_url(self.context["request"], record) if record.exists else None


class DuplicatePairSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    record_a = serializers.CharField(help_text="Public id (the lower of the two)")
    record_b = serializers.CharField(help_text="Public id")
    score = serializers.FloatField(help_text="Probability (0-100) that the two are one record")
    status = PairStatusField()
    url = serializers.SerializerMethodField(help_text="The side-by-side comparison")

    def get_url(self, pair) -> str:
        return self.context["request"].build_absolute_uri(
            reverse("duplicate-pair", args=[pair.kind, pair.pk])
        )


class DuplicateImpactSerializer(serializers.Serializer):
    references = serializers.IntegerField(help_text="Active cross-references of its records")
    systems = serializers.ListField(
        child=serializers.CharField(), help_text="Codes of the systems that hold them"
    )


class DuplicateClusterSerializer(serializers.Serializer):
    """Records joined by pairs (A~B and B~C: one cluster of three)."""

    best_score = serializers.FloatField(source="best", help_text="The best pair's score")
    records = DuplicateRecordSerializer(many=True)
    pairs = DuplicatePairSummarySerializer(many=True, help_text="Best first")
    impact = DuplicateImpactSerializer(help_text="What merging the cluster would touch")


class DuplicateFieldSerializer(serializers.Serializer):
    field = serializers.CharField()
    label = serializers.CharField(help_text="The field in words")
    a = serializers.CharField(allow_blank=True, help_text="record_a's value")
    b = serializers.CharField(allow_blank=True, help_text="record_b's value")
    differs = serializers.BooleanField(help_text="The values differ as written")
    written_apart = serializers.BooleanField(
        help_text="They differ as written but are one value (spaces, dashes, case aside)"
    )
    evidence = serializers.FloatField(
        allow_null=True, help_text="How alike the matcher found them (0-100); null: not compared"
    )


class DuplicateEvidenceSerializer(serializers.Serializer):
    field = serializers.CharField()
    label = serializers.CharField()
    agreement = serializers.FloatField(help_text="0-100")
    words = serializers.CharField(help_text='e.g. "VAT number: 100% alike"')


class DuplicateLevelSerializer(serializers.Serializer):
    comparison = serializers.CharField(help_text="The matcher's comparison, e.g. name")
    label = serializers.CharField()
    level = serializers.IntegerField(allow_null=True, help_text="Index, 0 the best agreement")
    level_name = serializers.CharField(allow_null=True, help_text='The level\'s name, e.g. "92+"')
    words = serializers.CharField(help_text='e.g. "Name: 92% alike or more"')


class DuplicateHistorySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    by = serializers.CharField(help_text="Username; empty: the hub itself")
    source = serializers.CharField(help_text="Where the change came from: Web, API, Task, ...")
    status = PairStatusField(help_text="The status it left the pair in")
    words = serializers.CharField(help_text='e.g. "Decided: not the same"')
    note = serializers.CharField(allow_blank=True)


class DuplicatePairSerializer(serializers.Serializer):
    """A pair side by side."""

    id = serializers.IntegerField(source="pair.pk")
    kind = serializers.CharField(source="pair.kind")
    score = serializers.FloatField(source="pair.score")
    band = serializers.CharField(
        help_text=f"sure (score {SURE:.0f} or more), worth a look ({WORTH_A_LOOK:.0f} or more)"
    )
    status = PairStatusField(source="pair.status")
    note = serializers.CharField(source="pair.note", allow_blank=True)
    decided_by = serializers.CharField(
        source="pair.decided_by.username", allow_null=True, default=None
    )
    decided_at = serializers.DateTimeField(source="pair.decided_at", allow_null=True)
    found_at = serializers.DateTimeField(source="pair.found_at")
    checked_at = serializers.DateTimeField(
        source="pair.checked_at", allow_null=True, help_text="The last check that found it"
    )
    record_a = DuplicateRecordSerializer()
    record_b = DuplicateRecordSerializer()
    fields = DuplicateFieldSerializer(many=True, help_text="Every field the matcher compares")
    evidence = DuplicateEvidenceSerializer(many=True, help_text="What agreed, best first")
    levels = DuplicateLevelSerializer(many=True, help_text="Each comparison's level of agreement")
    history = DuplicateHistorySerializer(many=True, help_text="Decisions, newest first")


class DuplicateDecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(
        choices=Status.values,
        error_messages={
            "invalid_choice": f'"{{input}}" is no decision; choose one of '
            f"{', '.join(Status.values)} (open undoes a decision)."
        },
        help_text="same, not_same, later, or open to undo a decision",
    )
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=500, default="", help_text="Why, optional"
    )
    if_status = PairStatusField(
        required=False,
        help_text="Optional: the status the decision was taken on; if the pair has another "
        "now (someone decided meanwhile), a 409 and nothing changes",
    )


class DuplicateRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    status = RunStatusField()
    finished = serializers.BooleanField()
    chunks_total = serializers.IntegerField()
    chunks_done = serializers.IntegerField()
    percent = serializers.IntegerField(help_text="0-100")
    pairs_found = serializers.IntegerField(help_text="Pairs the run found (once finished)")
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    message = serializers.CharField(allow_blank=True, help_text="Why it failed")
    words = serializers.CharField(help_text="The progress in words")
    url = serializers.SerializerMethodField()

    def get_url(self, progress) -> str:
        return self.context["request"].build_absolute_uri(
            reverse("duplicate-run", args=[progress["kind"], progress["id"]])
        )


class QueueParamsSerializer(serializers.Serializer):
    min_score = serializers.FloatField(min_value=0, max_value=100, default=SURE)
    status = PairStatusField(default=Status.OPEN)


# --- views ---------------------------------------------------------------------------------


class DuplicateClusterListView(generics.ListAPIView):
    """The review queue of one kind: clusters of pairs, best first."""

    read_roles = READERS
    serializer_class = DuplicateClusterSerializer
    queryset = DuplicatePair.objects.none()
    filter_backends = []

    @extend_schema(
        summary="The duplicates review queue of a kind",
        description=(
            "Records that may be one record twice, grouped into clusters (A~B and B~C: one "
            "cluster), the best score first, then the cluster whose records more "
            "cross-references point at. Paginated. Each record with its name, number, "
            "identifiers and the systems that reference it. By default the open pairs scoring "
            f"{SURE:.0f} or more (sure); `min_score={WORTH_A_LOOK:.0f}` shows those worth a "
            "look too, `status` the pairs decided one way."
        ),
        parameters=[
            KIND_PARAMETER,
            OpenApiParameter(
                "min_score",
                OpenApiTypes.FLOAT,
                description=f"Lowest pair score, 0-100 (default {SURE:.0f}, sure)",
            ),
            OpenApiParameter(
                "status",
                OpenApiTypes.STR,
                enum=Status.values,
                description=f"The pairs' status (default open). {STATUS_HELP}",
            ),
        ],
        responses={200: DuplicateClusterSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, kind):
        kind = _kind(kind)
        params = QueueParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        queued = duplicate_queue.queue(kind, **params.validated_data)
        page = self.paginate_queryset(queued)
        described = duplicate_queue.describe(kind, page)
        context = {"request": request, "kind": kind}
        return self.get_paginated_response(
            DuplicateClusterSerializer(described, many=True, context=context).data
        )


def _pair(kind, pk):
    try:
        return duplicate_queue.pair_of(kind, pk)
    except DuplicatePair.DoesNotExist:
        raise NotFound(f"No {kind} pair with id {pk}.") from None


def _pair_response(request, pair):
    shown = duplicate_queue.comparison(pair)
    return Response(
        DuplicatePairSerializer(shown, context={"request": request, "kind": pair.kind}).data
    )


class DuplicatePairView(APIView):
    """One pair side by side."""

    read_roles = READERS

    @extend_schema(
        summary="A pair side by side",
        description=(
            "Both records with every field the matcher compares (`differs`: the values differ "
            "as written), the evidence and each comparison's level in words, the pair's "
            "decision and its history."
        ),
        parameters=[KIND_PARAMETER, PAIR_PARAMETER],
        responses={200: DuplicatePairSerializer, 404: NOT_FOUND},
    )
    def get(self, request, kind, pair_id):
        return _pair_response(request, _pair(_kind(kind), pair_id))


class DuplicateDecisionView(APIView):
    """A steward's decision on a pair."""

    @extend_schema(
        summary="Decide on a pair",
        description=(
            "`same`: one record twice (to be merged); `not_same`: two records, never suggested "
            "again unless an identifier of either changes; `later`: put off; `open`: undo the "
            "decision. Kept with who and when in the pair's history; `same` and `not_same` "
            "also teach the matcher. Answers the pair as GET does."
        ),
        parameters=[KIND_PARAMETER, PAIR_PARAMETER],
        request=DuplicateDecisionSerializer,
        responses={
            200: DuplicatePairSerializer,
            400: OpenApiResponse(
                description="An unknown decision, or a record of the pair was deleted"
            ),
            404: NOT_FOUND,
            409: OpenApiResponse(description="`if_status` given and the pair's status is another"),
        },
    )
    def post(self, request, kind, pair_id):
        kind = _kind(kind)
        _pair(kind, pair_id)
        body = DuplicateDecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            pair = duplicate_queue.decide(
                kind, pair_id, data["decision"], request.user, data["note"], data.get("if_status")
            )
        except DuplicateError as exc:
            raise ValidationError({"decision": [str(exc)]}) from None
        except duplicate_queue.PairChanged as exc:
            return ProblemResponse(status.HTTP_409_CONFLICT, str(exc))
        except DuplicatePair.DoesNotExist:  # deleted since it was looked up
            raise NotFound(f"No {kind} pair with id {pair_id}.") from None
        return _pair_response(request, duplicate_queue.pair_of(kind, pair.pk))


def _run_response(request, run, code=status.HTTP_200_OK, headers=None):
    body = DuplicateRunSerializer(
        duplicate_queue.run_progress(run), context={"request": request}
    ).data
    return Response(body, status=code, headers=headers)


class DuplicateRunListView(APIView):
    """Full runs over a kind."""

    @extend_schema(
        summary="Start a full duplicate run",
        description=(
            "Checks every record of the kind against the master, in chunks run by the "
            "workers; new pairs join the queue as they are found. No body. Answers the run; "
            "follow its `url` (also in Location) for the progress."
        ),
        parameters=[KIND_PARAMETER],
        request=None,
        responses={202: DuplicateRunSerializer, 404: NOT_FOUND},
    )
    def post(self, request, kind):
        if request.data:  # read, so that a body that is not JSON is a 400 too
            return ProblemResponse(status.HTTP_400_BAD_REQUEST, "Starting a run takes no body.")
        run = duplicate_queue.start_run(_kind(kind))
        url = request.build_absolute_uri(reverse("duplicate-run", args=[kind, run.pk]))
        return _run_response(request, run, status.HTTP_202_ACCEPTED, {"Location": url})


class DuplicateRunView(APIView):
    """A full run's progress."""

    read_roles = READERS

    @extend_schema(
        summary="A full duplicate run's progress",
        parameters=[KIND_PARAMETER, RUN_PARAMETER],
        responses={200: DuplicateRunSerializer, 404: NOT_FOUND},
    )
    def get(self, request, kind, run_id):
        kind = _kind(kind)
        try:
            run = duplicate_queue.run_of(kind, run_id)
        except DuplicateRun.DoesNotExist:
            raise NotFound(f"No {kind} duplicate run with id {run_id}.") from None
        return _run_response(request, run)

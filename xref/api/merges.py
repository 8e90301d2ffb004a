"""API v1 merges: the survivorship proposal for merging one record into another, the merge,
its undoing, and the list of merges. Thin views over `xref.merging` (which merges) and
`xref.merge_reports` (which describes).

    GET  /api/v1/{kind}/{id}/merge/?loser=...   the proposal: each field's two values, the
                                                default and its rule; both records' updated_at
    POST /api/v1/{kind}/{id}/merge/             merge `loser` into {id}, the survivor
    POST /api/v1/{kind}/{id}/unmerge/           undo the merge of {id} (the loser)
    GET  /api/v1/merges/?kind=&record=          merges, newest first

{kind} is the plural of mdm's own URLs (items, suppliers, locations). A supplier site is
served under its supplier by its code, and so are its merges:
/api/v1/suppliers/{supplier id}/sites/{code}/merge/, with `loser` another site of the same
supplier, by public id or code. Stewards merge and unmerge; viewers read, as the review
screens let them; integration clients have no use for it (the codes they resolve keep working
through a merge).
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from core.problems import ProblemResponse
from core.roles import STEWARD, VIEWER
from mdm.models import SupplierSite
from xref import merge_reports, merging, sites
from xref.merging import MODELS, MergeConflict, MergeError
from xref.models import Merge

READERS = (STEWARD, VIEWER)
# The kinds as mdm's URLs spell them (xref.api_urls routes each).
PLURALS = {"item": "items", "supplier": "suppliers", "location": "locations"}
NOT_FOUND = OpenApiResponse(description="No record of the kind with that public id.")
SEEN_HELP = (
    "{public id: updated_at} of the two records as the comparison showed them (the proposal's "
    "`seen`, or updated_at as the API printed it); if either changed since, a 409 and nothing "
    "changes. Leave it out only when no person compared the records."
)


def _record_url(request, kind, public_id):
    return request.build_absolute_uri(sites.record_path(kind, public_id))


def _record(kind, key):
    """The record of `kind` (a merged one too) the route's parameters `key` name: its public
    id, or a supplier site's supplier and code; else a 404."""
    if kind == sites.KIND:
        supplier, code = key["supplier_public_id"].strip().upper(), key["code"]
        record = SupplierSite.objects.filter(supplier__public_id=supplier, code=code).first()
        if record is None:
            raise NotFound(f"No site {code!r} of supplier {supplier}.")
        return record
    public_id = key["public_id"]
    record = MODELS[kind].objects.filter(public_id=str(public_id).strip().upper()).first()
    if record is None:
        raise NotFound(f"No {kind} {public_id}.")
    return record


def _loser_id(kind, survivor, loser):
    """The loser's public id: a supplier site may be named by its code among its supplier's
    sites."""
    if kind == sites.KIND:
        found = SupplierSite.objects.filter(supplier_id=survivor.supplier_id, code=loser.strip())
        return found.values_list("public_id", flat=True).first() or loser
    return loser


def _problem(exc):
    code = 409 if isinstance(exc, MergeConflict) else 400
    return ProblemResponse(code, str(exc))


def path_parameter(description):
    return OpenApiParameter(
        "public_id", OpenApiTypes.STR, OpenApiParameter.PATH, description=description
    )


def site_path(description):
    """The path parameters of a supplier site's routes, for those of a public id."""
    return [
        OpenApiParameter("public_id", OpenApiTypes.STR, OpenApiParameter.PATH, exclude=True),
        OpenApiParameter(
            "supplier_public_id",
            OpenApiTypes.STR,
            OpenApiParameter.PATH,
            description="Public id of the site's supplier, e.g. SUP-000045",
        ),
        OpenApiParameter("code", OpenApiTypes.STR, OpenApiParameter.PATH, description=description),
    ]


# --- serializers (the shapes the views write; explicit for the schema) ----------------------


class MergeRecordSerializer(serializers.Serializer):
    """One of the two records of a proposed merge."""

    id = serializers.CharField(help_text="Public id")
    name = serializers.CharField(help_text="Name (items: description)")
    updated_at = serializers.DateTimeField(help_text="When it last changed: give it in `seen`")
    references = serializers.IntegerField(help_text="Active cross-references, all systems")
    url = serializers.URLField(help_text="The record in the API")


class MergeFieldSerializer(serializers.Serializer):
    field = serializers.CharField()
    label = serializers.CharField(help_text="The field in words")
    survivor = serializers.JSONField(
        allow_null=True, help_text="The survivor's value (related records by public id or code)"
    )
    loser = serializers.JSONField(allow_null=True, help_text="The loser's value")
    default = serializers.JSONField(allow_null=True, help_text="The value merged if not picked")
    rule = serializers.CharField(help_text='Why the default, e.g. "SUP-000006\'s: the longer"')
    differs = serializers.BooleanField(help_text="The two values differ")
    group = serializers.CharField(
        help_text="The first field of its group: fields of a group come from one record"
    )


class MergeProposalSerializer(serializers.Serializer):
    """What merging `loser` into `survivor` would do, field by field."""

    kind = serializers.CharField()
    survivor = MergeRecordSerializer()
    loser = MergeRecordSerializer()
    fields = MergeFieldSerializer(many=True)
    seen = serializers.DictField(
        child=serializers.DateTimeField(),
        help_text="Both records' updated_at, to send back as `seen` with the merge",
    )


class MergeSerializer(serializers.Serializer):
    """A merge: the loser merged into the survivor (and whether it was undone)."""

    id = serializers.IntegerField(source="merge.pk")
    kind = serializers.CharField(source="merge.kind")
    survivor = serializers.CharField(source="merge.survivor", help_text="Public id that stayed")
    survivor_name = serializers.CharField(source="survivor.name", allow_blank=True)
    loser = serializers.CharField(source="merge.loser", help_text="Public id merged into it")
    loser_name = serializers.CharField(source="loser.name", allow_blank=True)
    taken_from_loser = serializers.SerializerMethodField(
        help_text="Fields whose value the survivor took from the loser"
    )
    moved = serializers.DictField(
        source="moved_counts",
        child=serializers.IntegerField(),
        help_text='Rows moved from the loser to the survivor, by label: {"xref.crossreference":'
        ' 3, "mdm.suppliersite.supplier": 1}; labels starting "kept." count rows that stayed '
        "with the loser",
    )
    merged_by = serializers.CharField(
        source="merge.decided_by.username", allow_null=True, default=None
    )
    merged_at = serializers.DateTimeField(source="merge.merged_at")
    reason = serializers.CharField(source="merge.reason", allow_blank=True)
    undone_at = serializers.DateTimeField(source="merge.undone_at", allow_null=True)
    undone_by = serializers.CharField(
        source="merge.undone_by.username", allow_null=True, default=None
    )
    undo_reason = serializers.CharField(source="merge.undo_reason", allow_blank=True)
    survivor_url = serializers.SerializerMethodField(help_text="The survivor in the API")

    def get_taken_from_loser(self, summary) -> list[str]:
        return [name for name, _ in summary.taken]

    def get_survivor_url(self, summary) -> str:
        kind = summary.merge.kind
        return _record_url(self.context["request"], kind, summary.merge.survivor)


class MergeInstructionSerializer(serializers.Serializer):
    loser = serializers.CharField(help_text="Public id of the record merged into this one")
    values = serializers.DictField(
        child=serializers.JSONField(allow_null=True),
        required=False,
        default=dict,
        help_text="{field: value} picked; the proposal's defaults for the rest",
    )
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=500, default="", help_text="Why, optional"
    )
    seen = serializers.DictField(
        child=serializers.CharField(), required=False, allow_empty=True, help_text=SEEN_HELP
    )

    def validate_values(self, values):
        # A field holds one value: a list or an object would be stored as its text.
        wrong = sorted(name for name, value in values.items() if isinstance(value, list | dict))
        if wrong:
            raise serializers.ValidationError(
                f"{', '.join(wrong)}: give each value as text, a number, true or false, or null."
            )
        return values


class UnmergeInstructionSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=500, default="", help_text="Why, optional"
    )


class MergeListParamsSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=list(MODELS),
        required=False,
        error_messages={
            "invalid_choice": f'"{{input}}" is no kind; choose one of {", ".join(MODELS)}.'
        },
    )
    record = serializers.CharField(required=False, max_length=20)


def _merge_response(request, merge):
    (summary,) = merge_reports.described([merge])
    return Response(MergeSerializer(summary, context={"request": request}).data)


# --- views ---------------------------------------------------------------------------------


class MergeView(APIView):
    """Merging a record (the loser) into this one (the survivor); the kind comes with the
    route (xref.api_urls)."""

    read_roles = READERS

    @extend_schema(
        summary="The proposal for merging a record into this one",
        description=(
            "Each field a merge of `loser` into this record picks: both values, the default and "
            "the rule that chose it (trusted order, most recent non-empty, longest); the fields "
            "of one `group` come from one record. `seen` holds both records' updated_at: send "
            "it back with the merge, so that a change made meanwhile is a 409 rather than a "
            "merge of values nobody saw."
        ),
        parameters=[
            path_parameter("Public id of the survivor, the record that stays"),
            OpenApiParameter(
                "loser",
                OpenApiTypes.STR,
                required=True,
                description="Public id of the record (of the same kind) to merge into this one",
            ),
        ],
        responses={
            200: MergeProposalSerializer,
            400: OpenApiResponse(
                description="No `loser`, an unknown one, the record itself, or another kind"
            ),
            404: NOT_FOUND,
            409: OpenApiResponse(description="Either record is merged into another already"),
        },
    )
    def get(self, request, kind, **key):
        survivor = _record(kind, key)
        loser = request.query_params.get("loser", "").strip()
        if not loser:
            return ProblemResponse(
                status.HTTP_400_BAD_REQUEST,
                f"loser: give the public id of the {kind} to merge into {survivor.public_id}.",
                errors=[{"parameter": "loser", "detail": "This parameter is required."}],
            )
        try:
            shown = merge_reports.proposal(
                kind, survivor.public_id, _loser_id(kind, survivor, loser)
            )
        except MergeError as exc:
            return _problem(exc)
        body = {
            "kind": kind,
            "fields": [
                {
                    "field": choice.field,
                    "label": choice.label,
                    "survivor": choice.survivor,
                    "loser": choice.loser,
                    "default": choice.default,
                    "rule": choice.rule,
                    "differs": choice.differs,
                    "group": group.lead,
                }
                for group in shown.groups
                for choice in group.fields
            ],
            "seen": shown.seen,
        }
        for side in ("survivor", "loser"):
            record = getattr(shown, side)
            body[side] = {
                "id": record.id,
                "name": record.name,
                "updated_at": shown.seen[record.id],
                "references": record.references,
                "url": _record_url(request, kind, record.id),
            }
        return Response(MergeProposalSerializer(body).data)

    @extend_schema(
        summary="Merge a record into this one",
        description=(
            "`loser` is merged into this record, which keeps its public id and takes the "
            "`values` picked (the proposal's defaults for the rest). In one transaction, "
            "everything that pointed at the loser points at this record: its cross-references, "
            "revisions and pack conversions (items), sites and pack conversions (suppliers), "
            "child locations (locations) and the document ledger; its open quarantine cases "
            "are replayed. The loser's public id keeps working: its URL answers with this "
            "record. Answers the merge; `unmerge` on the loser undoes it."
        ),
        parameters=[path_parameter("Public id of the survivor, the record that stays")],
        request=MergeInstructionSerializer,
        responses={
            200: MergeSerializer,
            400: OpenApiResponse(
                description="A merge into itself, across kinds, of an unknown loser, of a "
                "field a merge does not pick, or of a value the record refuses"
            ),
            404: NOT_FOUND,
            409: OpenApiResponse(
                description="A merge into a merged record, of a loser merged already, of "
                "records changed since `seen`, or one that lost a race with another merge"
            ),
        },
    )
    def post(self, request, kind, **key):
        survivor = _record(kind, key)
        body = MergeInstructionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            merge = merging.merge(
                kind,
                survivor.public_id,
                _loser_id(kind, survivor, data["loser"]),
                values=data["values"],
                user=request.user,
                reason=data["reason"],
                seen=data.get("seen"),
            )
        except MergeError as exc:
            return _problem(exc)
        return _merge_response(request, merge)


class UnmergeView(APIView):
    """Undoing the merge of this record (the loser) into another."""

    @extend_schema(
        summary="Undo the merge of this record into another",
        description=(
            "This record (the loser of a merge) and the record it was merged into are put back "
            "as they were before the merge, and every row the merge moved comes back to it, in "
            "one transaction. Answers the merge, now undone."
        ),
        parameters=[path_parameter("Public id of the record merged into another (the loser)")],
        request=UnmergeInstructionSerializer,
        responses={
            200: MergeSerializer,
            404: NOT_FOUND,
            409: OpenApiResponse(
                description="The record is not merged into another, the survivor has been "
                "merged since (undo that first), or a row the merge moved has changed since "
                "so that it cannot go back"
            ),
        },
    )
    def post(self, request, kind, **key):
        loser = _record(kind, key)
        body = UnmergeInstructionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        merge = merge_reports.active_merge(kind, loser.public_id)
        if merge is None:
            return ProblemResponse(
                status.HTTP_409_CONFLICT,
                f"{loser.public_id} is not merged into another {kind}; there is no merge to undo.",
            )
        try:
            merge = merging.unmerge(merge, user=request.user, reason=body.validated_data["reason"])
        except MergeError as exc:
            return _problem(exc)
        return _merge_response(request, merge)


class MergeListView(generics.ListAPIView):
    """Merges, newest first."""

    read_roles = READERS
    serializer_class = MergeSerializer
    queryset = Merge.objects.none()
    filter_backends = []

    @extend_schema(
        summary="Merges",
        description=(
            "Records merged into others, newest first, undone ones too (`undone_at`). "
            "Paginated. `kind` keeps one kind; `record` the merges naming a public id, as "
            "survivor or loser."
        ),
        parameters=[
            OpenApiParameter(
                "kind",
                OpenApiTypes.STR,
                enum=list(MODELS),
                description="item, supplier, location or supplier_site",
            ),
            OpenApiParameter(
                "record", OpenApiTypes.STR, description="A public id: its merges either way"
            ),
        ],
        responses={200: MergeSerializer(many=True)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request):
        params = MergeListParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        found = merge_reports.merges(**params.validated_data)
        page = self.paginate_queryset(found)
        return self.get_paginated_response(
            MergeSerializer(
                merge_reports.described(page), many=True, context={"request": request}
            ).data
        )


# Supplier sites, under their supplier by code (xref.api_urls): the same views, documented
# with the site's path parameters.


@extend_schema_view(
    get=extend_schema(parameters=site_path("Code of the surviving site, the one that stays")),
    post=extend_schema(parameters=site_path("Code of the surviving site, the one that stays")),
)
class SiteMergeView(MergeView):
    """Merging another site of the supplier (the loser, by public id or code) into this one.
    Sites of two suppliers are refused (400): merge the suppliers first."""


@extend_schema_view(
    post=extend_schema(parameters=site_path("Code of the site merged into another (the loser)"))
)
class SiteUnmergeView(UnmergeView):
    """Undoing the merge of this site into another of its supplier's."""

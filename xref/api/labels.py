"""API v1 labelled match pairs: what people and clients decided about match candidates, which
the matcher's weights are estimated from. Thin views over `xref.labels`.

Stewards read and write them; integration clients (reconciliation clients, ERPs that let a
person confirm a match) post what they accepted or rejected; viewers have no use for them.
"""

from django.conf import settings
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent, build_choice_field
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from core.parsers import JSONParser, RequestTooLarge
from core.problems import ProblemResponse
from core.roles import INTEGRATION, STEWARD
from xref import labels
from xref.models import MatchLabel

# The most decisions one POST takes; more go in several requests or a CSV import.
MAX_POSTED = 1000
QUERY_HELP = {
    "q": "Free text: an item's description, a supplier's or location's name",
    "mpn": "Manufacturer part number (items)",
    "gtin": "GTIN (items)",
    "manufacturer": "Manufacturer or brand (items)",
    "duns": "DUNS number (suppliers)",
    "lei": "Legal Entity Identifier (suppliers)",
    "vat": "VAT number (suppliers)",
    "gln": "GLN (locations)",
    "address": "Street address (locations)",
    "postal_code": "Postal code (locations)",
}
CSV_COLUMNS = ", ".join(labels.COLUMNS)


class SourceField(serializers.ChoiceField):
    """Where a decision was made (MatchLabel.Source)."""

    def __init__(self, **kwargs):
        super().__init__(
            choices=MatchLabel.Source.choices,
            error_messages={
                "invalid_choice": f'"{{input}}" is no source; choose one of '
                f"{', '.join(labels.SOURCES)}."
            },
            **kwargs,
        )


class SourceFieldSchema(OpenApiSerializerFieldExtension):
    """SourceField as one named enum, MatchLabelSource: other records have a "source" too,
    with other choices."""

    target_class = SourceField

    def map_serializer_field(self, auto_schema, direction):
        component = ResolvedComponent(
            name="MatchLabelSource",
            type=ResolvedComponent.SCHEMA,
            object="MatchLabelSource",
            schema=build_choice_field(self.target),
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref


class LabelQuerySerializer(serializers.Serializer):
    """What was asked, as the matcher takes it: text and the kind's identifiers."""

    q = serializers.CharField(required=False, help_text=QUERY_HELP["q"])
    mpn = serializers.CharField(required=False, help_text=QUERY_HELP["mpn"])
    gtin = serializers.CharField(required=False, help_text=QUERY_HELP["gtin"])
    manufacturer = serializers.CharField(required=False, help_text=QUERY_HELP["manufacturer"])
    duns = serializers.CharField(required=False, help_text=QUERY_HELP["duns"])
    lei = serializers.CharField(required=False, help_text=QUERY_HELP["lei"])
    vat = serializers.CharField(required=False, help_text=QUERY_HELP["vat"])
    gln = serializers.CharField(required=False, help_text=QUERY_HELP["gln"])
    address = serializers.CharField(required=False, help_text=QUERY_HELP["address"])
    postal_code = serializers.CharField(required=False, help_text=QUERY_HELP["postal_code"])


class MatchLabelSerializer(serializers.ModelSerializer):
    """A labelled pair as stored."""

    query = LabelQuerySerializer(read_only=True)
    source = SourceField(read_only=True)
    decided_by = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="Who decided (null: the hub, or an import from the command line).",
    )

    class Meta:
        model = MatchLabel
        fields = ("id", "kind", "query", "record", "is_match", "source", "decided_by", "decided_at")
        read_only_fields = fields


class DecisionSerializer(serializers.Serializer):
    """One decision to keep. The query takes only the kind's fields (item: q, mpn, gtin,
    manufacturer; supplier: q, duns, lei, vat; location: q, gln, address, postal_code)."""

    kind = serializers.ChoiceField(
        choices=labels.KINDS,
        error_messages={
            "invalid_choice": f'"{{input}}" is no kind; choose one of {", ".join(labels.KINDS)}.'
        },
    )
    query = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=labels.MAX_VALUE_LENGTH),
        help_text='What was asked, e.g. {"q": "Acme Fasteners GmbH", "duns": "123456789"}.',
    )
    record = serializers.CharField(
        max_length=labels.RECORD_LENGTH, help_text="Public id of the candidate, e.g. SUP-000045."
    )
    is_match = serializers.BooleanField(help_text="Whether the record is what the query meant.")
    source = SourceField(default=MatchLabel.Source.API, help_text="Default: api.")

    def validate(self, data):
        taken = labels.QUERY_FIELDS[data["kind"]]
        strangers = sorted(name for name in data["query"] if name not in taken)
        if strangers:
            raise serializers.ValidationError(
                {
                    "query": {
                        name: [f"{data['kind']} queries take {', '.join(taken)}, not {name}."]
                        for name in strangers
                    }
                }
            )
        return data


class ImportReportSerializer(serializers.Serializer):
    added = serializers.IntegerField(help_text="Pairs not stored before.")
    replaced = serializers.IntegerField(help_text="Earlier decisions on the same pair replaced.")
    unchanged = serializers.IntegerField(help_text="Rows saying what was stored already.")


class BadRowSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    detail = serializers.CharField()


class ImportRefusedSerializer(serializers.Serializer):
    rows = BadRowSerializer(
        many=True,
        required=False,
        help_text="Every bad row, with its line number (absent when the body is no CSV).",
    )


class CSVRenderer(BaseRenderer):
    """The labelled pairs as CSV (the view renders the text)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data.encode(self.charset) if isinstance(data, str) else b""


class CSVParser(BaseParser):
    """A CSV body as text: UTF-8 (a byte order mark is dropped), up to
    HUB_MAX_REQUEST_BYTES."""

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.HUB_MAX_REQUEST_BYTES
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise RequestTooLarge(
                f"The CSV is more than {limit} bytes; import it in several parts."
            )
        try:
            return body.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ParseError(
                f"The CSV is not UTF-8 text (byte {exc.start + 1}); save it from the "
                "spreadsheet as 'CSV UTF-8 (comma delimited)'."
            ) from None


def _csv_response(text, name="match-labels.csv"):
    response = Response("\ufeff" + text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class MatchLabelListView(generics.ListCreateAPIView):
    """Labelled match pairs: list them (JSON, or CSV for `Accept: text/csv` or
    `?format=csv`), or keep decisions."""

    queryset = MatchLabel.objects.select_related("decided_by")
    serializer_class = MatchLabelSerializer
    filterset_fields = ("kind", "source", "is_match")
    read_roles = (STEWARD,)
    write_roles = (STEWARD, INTEGRATION)

    def perform_content_negotiation(self, request, force=False):
        # DRF answers a format it has no renderer for with a 404; it is a bad parameter.
        wanted = request.query_params.get(api_settings.URL_FORMAT_OVERRIDE)
        if not force and wanted is not None and wanted not in ("json", "csv", "api"):
            raise ValidationError({"format": [f"Unknown format {wanted!r}; choose json or csv."]})
        return super().perform_content_negotiation(request, force)

    def get_renderers(self):
        renderers = super().get_renderers()
        if self.request is not None and self.request.method == "GET":
            renderers.append(CSVRenderer())
        return renderers

    @extend_schema(
        summary="List labelled match pairs",
        description=(
            "Newest decision first, paginated. With `Accept: text/csv` or `?format=csv`: "
            f"every pair the filters select as one CSV file, columns {CSV_COLUMNS} (the "
            "import's format)."
        ),
        parameters=[
            OpenApiParameter(
                "format", OpenApiTypes.STR, enum=["json", "csv"], description="csv: a CSV file"
            )
        ],
        responses={
            200: MatchLabelSerializer(many=True),
            (200, "text/csv"): OpenApiTypes.STR,
        },
    )
    def get(self, request, *args, **kwargs):
        if request.accepted_renderer.format == "csv":
            selected = self.filter_queryset(self.get_queryset())
            return _csv_response(labels.export_csv(labels=selected))
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Keep match decisions",
        description=(
            "What a person (or a client on a person's behalf) accepted or rejected: the "
            "record `is_match` for the query, or not. One decision as an object, or up to "
            f"{MAX_POSTED} as a list, kept all or none. A later decision on the same kind, "
            "query and record replaces the earlier one. The query's values are stripped and "
            "empty ones dropped; the record must exist."
        ),
        request=PolymorphicProxySerializer(
            component_name="MatchDecisions",
            serializers=[DecisionSerializer, DecisionSerializer(many=True)],
            resource_type_field_name=None,
            many=False,
        ),
        responses={
            200: OpenApiResponse(
                MatchLabelSerializer, description="Replaced an earlier decision (a list: none new)."
            ),
            201: OpenApiResponse(
                MatchLabelSerializer, description="A new pair (a list: at least one new)."
            ),
        },
    )
    def post(self, request, *args, **kwargs):
        many = isinstance(request.data, list)
        if many and not 0 < len(request.data) <= MAX_POSTED:
            raise ValidationError(f"Send 1 to {MAX_POSTED} decisions in one request.")
        decisions = DecisionSerializer(data=request.data, many=many)
        decisions.is_valid(raise_exception=True)
        given = decisions.validated_data if many else [decisions.validated_data]
        try:
            kept = labels.record_many(given, user=request.user)
        except labels.LabelsRefused as exc:
            if many:
                raise ValidationError([exc.errors.get(n, {}) for n in range(len(given))]) from None
            raise ValidationError(exc.errors[0]) from None
        created = any(new for _, new in kept)
        body = MatchLabelSerializer([label for label, _ in kept], many=True).data
        return Response(
            body if many else body[0],
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class MatchLabelImportView(APIView):
    """Labelled match pairs from a CSV file, all or none."""

    # JSON is read too, to answer it with what to send instead of a bare 415 (and so that a
    # session's CSRF check, which reads the body, gets as far as the role check).
    parser_classes = [CSVParser, JSONParser]

    @extend_schema(
        summary="Import labelled match pairs from CSV",
        description=(
            f"A CSV body (`Content-Type: text/csv`, UTF-8) with the columns {CSV_COLUMNS}; "
            "kind, record and is_match (yes/no, true/false, 1/0) are required, the query "
            "columns a kind does not take must be empty. Every row is checked first: when any "
            "is bad nothing is imported and the answer lists each bad row with its line "
            "number. Importing an export again changes nothing."
        ),
        request={"text/csv": OpenApiTypes.STR},
        responses={
            200: ImportReportSerializer,
            400: OpenApiResponse(
                ImportRefusedSerializer, description="Bad rows (none kept), or no CSV body."
            ),
        },
    )
    def post(self, request):
        if not isinstance(request.data, str) or not request.data.strip():
            raise ValidationError(
                f"Send the pairs as a CSV body (Content-Type: text/csv) with the columns "
                f"{CSV_COLUMNS}."
            )
        report = labels.import_csv(request.data, request.user)
        if not report.ok:
            return ProblemResponse(
                status.HTTP_400_BAD_REQUEST,
                f"{len(report.errors)} bad row(s), nothing was imported; first, line "
                f"{report.errors[0][0]}: {report.errors[0][1]}",
                rows=[{"line": line, "detail": detail} for line, detail in report.errors],
            )
        return Response(
            {"added": report.added, "replaced": report.replaced, "unchanged": report.unchanged}
        )

"""API v1 match: free text and identifiers to ranked candidates. A thin view over
`xref.matching.match`; integration clients and stewards may call it, viewers may not."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from core.roles import INTEGRATION, STEWARD
from mdm import identifiers
from xref import matching

IDENTIFIER_PARAMS = {
    "mpn": ("item", "Manufacturer part number or model number (spaces, dashes, case ignored)"),
    "gtin": ("item", "GTIN-8, -12, -13 or -14 (GTIN-12 and GTIN-13 of one product match)"),
    "manufacturer": ("item", "Manufacturer or brand name"),
    "duns": ("supplier", "DUNS number (9 digits)"),
    "lei": ("supplier", "Legal Entity Identifier (20 characters)"),
    "vat": ("supplier", "VAT number, with or without its country prefix"),
    "gln": ("location", "GLN (13 digits)"),
    "address": ("location", "Street address, compared with the location's"),
    "postal_code": ("location", "Postal code, compared with the location's"),
}
# The hub's own number: every kind takes it (a location's is its code).
NUMBER_HELP = "The hub's own number of the record (a location's code), given as such"


class MatchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        required=False, allow_blank=True, max_length=matching.MAX_QUERY_LENGTH, default=""
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=matching.MAX_LIMIT)
    country = serializers.CharField(required=False, max_length=2)
    mpn = serializers.CharField(required=False, max_length=80)
    gtin = serializers.CharField(required=False, max_length=20)
    manufacturer = serializers.CharField(required=False, max_length=200)
    duns = serializers.CharField(required=False, max_length=20)
    lei = serializers.CharField(required=False, max_length=30)
    vat = serializers.CharField(required=False, max_length=30)
    gln = serializers.CharField(required=False, max_length=20)
    address = serializers.CharField(required=False, max_length=250)
    postal_code = serializers.CharField(required=False, max_length=20)
    number = serializers.CharField(required=False, max_length=40)

    def validate_country(self, value):
        if not identifiers.is_country(value):
            raise serializers.ValidationError(
                f"{value!r} is not an ISO 3166-1 alpha-2 country code (e.g. DE)."
            )
        return value

    def validate(self, data):
        kind = self.context["kind"]
        errors = {}
        for name, (owner, _) in IDENTIFIER_PARAMS.items():
            if data.get(name) and owner != kind:
                errors[name] = [f"Only {owner} matching takes {name}."]
        if data.get("country") and kind == "item":
            errors["country"] = ["Items have no country."]
        if errors:
            raise serializers.ValidationError(errors)
        given = [name for name in [*IDENTIFIER_PARAMS, "number"] if data.get(name)]
        if not data.get("q", "").strip() and not given:
            raise serializers.ValidationError(
                {"q": ["Give the text to match, an identifier, or both."]}
            )
        return data


class CandidateSerializer(serializers.Serializer):
    """Describes a candidate for the schema; the view returns the service's dicts as they are."""

    id = serializers.CharField(help_text="Public id of the record, e.g. SUP-000045")
    name = serializers.CharField(help_text="Name (items: description)")
    score = serializers.FloatField(
        help_text=(
            "The probability, in percent, that this is the record meant. "
            f"{matching.SURE:.0f} or more: sure (right nine times in ten or more); "
            f"{matching.WORTH_A_LOOK:.0f} or more: worth a look."
        )
    )
    evidence = serializers.DictField(
        child=serializers.FloatField(),
        help_text='How alike each field is, 0-100: {"duns": 100} or {"name": 91.4}',
    )


class MatchResultsSerializer(serializers.Serializer):
    results = CandidateSerializer(many=True)


class MatchView(APIView):
    """Ranked candidates for a supplier name, an item description or model number, or a
    location name."""

    read_roles = (STEWARD, INTEGRATION)

    @extend_schema(
        summary="Match free text and identifiers to records",
        description=(
            "Each candidate's `score` is the probability, in percent, that it is the record "
            f"meant: {matching.SURE:.0f} or more is sure (take it without a person), "
            f"{matching.WORTH_A_LOOK:.0f} or more is worth a steward's look. It weighs every "
            "field compared: identifiers (DUNS, LEI, VAT, GTIN, GLN, the hub's own `number`), "
            "names and legal names, descriptions, model numbers, manufacturer, address. "
            "Candidates that agree equally share the probability, so two look-alike records "
            "are never both sure. `kind` is `item`, `supplier` or `location`; anything else "
            "is a 400."
        ),
        parameters=[
            OpenApiParameter(
                "kind",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                enum=list(matching.KINDS),
            ),
            OpenApiParameter("q", OpenApiTypes.STR, description="Free text to match"),
            OpenApiParameter(
                "limit",
                OpenApiTypes.INT,
                description=f"Candidates to return, 1 to {matching.MAX_LIMIT} (default 5)",
            ),
            OpenApiParameter(
                "country",
                OpenApiTypes.STR,
                description="Suppliers and locations of this ISO country only, e.g. DE",
            ),
            *[
                OpenApiParameter(name, OpenApiTypes.STR, description=f"{text} ({owner}s)")
                for name, (owner, text) in IDENTIFIER_PARAMS.items()
            ],
            OpenApiParameter("number", OpenApiTypes.STR, description=NUMBER_HELP),
        ],
        responses={200: MatchResultsSerializer},
    )
    def get(self, request, kind):
        if kind not in matching.KINDS:
            raise ValidationError(
                {"kind": [f"Unknown kind {kind!r}; choose one of {', '.join(matching.KINDS)}."]}
            )
        query = MatchQuerySerializer(data=request.query_params, context={"kind": kind})
        query.is_valid(raise_exception=True)
        params = dict(query.validated_data)
        q, limit, country = params.pop("q"), params.pop("limit", 5), params.pop("country", None)
        candidates = matching.match(kind, q, limit=limit, country=country, **params)
        return Response({"results": [candidate.as_dict() for candidate in candidates]})

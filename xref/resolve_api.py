"""API v1 resolution and translation: thin views over `xref.resolve`.

The service returns plain dicts and the views hand them to the renderer as they are: this is
the hot path, so no serializer runs per key. The serializers below only describe the shapes
for the OpenAPI schema. Integration clients and stewards may call every view here (POST
included: a batch resolve changes nothing); viewers may not.
"""

from collections import defaultdict
from datetime import date

import orjson
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from core.jsonbody import JSONRefused, read_json
from core.parsers import parse_error
from core.problems import ProblemResponse, pointer, problem
from core.roles import INTEGRATION, STEWARD
from xref import resolve
from xref.models import Kind

MAX_KEYS = 50_000
# 50,000 keys with long codes and scopes; Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) is
# sized for forms and would refuse a full batch.
MAX_BATCH_BYTES = 16 * 1024 * 1024
RESOLVE_FIELDS = ("kind", "system", "code", "scope")
TRANSLATE_FIELDS = ("kind", "from_system", "code", "to_system", "scope", "to_scope")
HTTP_STATUS = {
    resolve.RESOLVED: 200,
    resolve.TRANSLATED: 200,
    resolve.NOT_FOUND: 404,
    resolve.RETIRED: 404,
    resolve.NOT_YET_VALID: 404,
    resolve.NO_CODE_IN_TARGET: 404,
    resolve.AMBIGUOUS: 409,
    resolve.NO_PREFERRED: 409,
}


def _as_of(value):
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValidationError({"as_of": ["Give a date as YYYY-MM-DD."]}) from None


# What a single answer that is not a success says, in words; the rest of the answer follows
# as extension members of the problem document, its status string as `outcome`.
OUTCOME_DETAILS = {
    resolve.NOT_FOUND: "{system} has no {kind} code '{code}'{in_scope}.",
    resolve.RETIRED: "{system}'s {kind} code '{code}'{in_scope} is retired{since}.{successor}",
    resolve.NOT_YET_VALID: "{system}'s {kind} code '{code}'{in_scope} is valid from "
    "{valid_from} only.",
    resolve.AMBIGUOUS: "{system}'s {kind} code '{code}' has answers in several scopes; name "
    "the one meant with {scope_parameters}.",
    resolve.NO_CODE_IN_TARGET: "{id} has no code in {to_system}.",
    resolve.NO_PREFERRED: "{id} has several codes in {to_system} and none is preferred.",
}


def _single(function, params, fields, kind):
    arguments = {name: params.get(name) for name in fields[1:]}
    try:
        result = function(kind, as_of=_as_of(params.get("as_of")), **arguments)
    except resolve.InvalidKeys as exc:
        raise ValidationError(
            {error["field"]: [error["message"]] for error in exc.errors}
        ) from None
    status = HTTP_STATUS[result["status"]]
    if status < 400:
        return Response(result, status=status)
    outcome = result.pop("status")
    return ProblemResponse(
        status, _outcome_detail(outcome, kind, arguments, result), outcome=outcome, **result
    )


def _outcome_detail(outcome, kind, arguments, result):
    system = arguments.get("system") or arguments.get("from_system")
    scope = arguments.get("scope")
    words = {
        **result,
        **arguments,
        "kind": kind,
        "system": system,
        "in_scope": f" in scope {scope}" if scope else "",
        "since": f" since {result['valid_to']}" if result.get("valid_to") else "",
        "successor": " Its successor is named." if result.get("successor") else "",
        "scope_parameters": "scope" if "to_system" not in arguments else "scope or to_scope",
    }
    return OUTCOME_DETAILS[outcome].format_map(defaultdict(str, words))


def _batch(function, request, fields):
    # Parsing, resolving and echoing 50,000 keys make hundreds of thousands of small objects
    # and none that need the cyclic collector; pausing it saves a good part of the time.
    with resolve.collector_paused():
        data = request.data
        if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
            raise ValidationError({"keys": ["Give the keys as a list of objects."]})
        keys = data["keys"]
        if len(keys) > MAX_KEYS:
            raise ValidationError(
                {"keys": [f"At most {MAX_KEYS:,} keys per call; got {len(keys):,}. Split it."]}
            )
        try:
            results = function(keys, _as_of(data.get("as_of")))
        except resolve.InvalidKeys as exc:
            listed = len(exc.errors)
            detail = f"{exc.count:,} key(s) are malformed"
            detail += f"; the first {listed} are listed." if exc.count > listed else "."
            # Not a ValidationError: that would turn the indexes into strings.
            errors = [_key_error(keys, fields, error) for error in exc.errors]
            return ProblemResponse(400, detail, errors=errors, keys=exc.errors)
        answers = [
            {"key": _echo(key, fields), **result} for key, result in zip(keys, results, strict=True)
        ]
    return Response({"results": answers})


def _key_error(keys, fields, error):
    """A malformed key as a problem's field error: where it is in the body, and why."""
    index, field = error["index"], error["field"]
    if field is None:
        return {"pointer": pointer("keys", index), "detail": error["message"]}
    at = field if isinstance(keys[index], dict) else fields.index(field)
    return {"pointer": pointer("keys", index, at), "detail": error["message"]}


def _echo(key, fields):
    if isinstance(key, dict):
        return {name: key.get(name) for name in fields}
    return dict(zip(fields, key, strict=False))


class BatchJSONParser(BaseParser):
    """JSON bodies up to MAX_BATCH_BYTES. Reads the request stream itself: DRF's JSONParser
    goes through request.body, which is held to DATA_UPLOAD_MAX_MEMORY_SIZE. Read by
    core.jsonbody's fast path (orjson), with the hub's limits on JSON."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read(MAX_BATCH_BYTES + 1)
        if len(body) > MAX_BATCH_BYTES:
            raise ParseError(f"A batch body may be at most {MAX_BATCH_BYTES // 2**20} MiB.")
        try:
            return read_json(body, fast=True)
        except JSONRefused as exc:
            raise parse_error(exc) from None


class OrjsonRenderer(BaseRenderer):
    """JSON by orjson, which writes 10,000 answers (3.6 MB) in a fifth of the time DRF's
    renderer takes (measured: 24 ms against 110 ms). The only renderer of these views: no
    browsable API, so no content negotiation on the hot path."""

    media_type = "application/json"
    format = "json"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        return orjson.dumps(data, default=str)


class JSONOnly(DefaultContentNegotiation):
    """These views answer JSON whatever the Accept header says: with one renderer there is
    nothing to negotiate, and parsing the header on every call of the hot path is time."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ResolutionView(APIView):
    """Base of the views here: integration clients and stewards may call them."""

    read_roles = write_roles = (STEWARD, INTEGRATION)
    renderer_classes = [OrjsonRenderer]
    content_negotiation_class = JSONOnly


# --- schema only: the shapes the views return -----------------------------------------------


class ResolutionReferenceSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The cross-reference's id (/api/v1/xrefs/{id}/).")
    system = serializers.CharField()
    kind = serializers.CharField()
    scope = serializers.CharField(help_text="Empty when the code is valid in every scope.")
    code = serializers.CharField()
    valid_from = serializers.DateField(allow_null=True, help_text="Null: always.")
    valid_to = serializers.DateField(
        allow_null=True, help_text="First day no longer valid (exclusive). Null: open-ended."
    )
    status = serializers.CharField(help_text="active or retired")
    is_preferred = serializers.BooleanField()


RECORD_HELP = (
    "Summary of the record. item: id, number, description, status, base_unit; supplier: id, "
    "number, name, status, country; location: id, code, name, kind, status; unit: id, name; "
    "item_revision: id, item, revision, status; supplier_site: id, supplier, code, status; "
    "code_value: id, list, code, meaning."
)
CANONICAL_ID_HELP = (
    "Canonical id: the public id (ITM-000123), the Rec 20 code for units, "
    "ITM-000123/B for an item revision, LIST:code for a code value."
)


def _outcome(value):
    """The `outcome` member of an answer that is not a success: a problem document's extension
    holding what the batch answers call `status`."""

    # A pattern, not a one-value enum: the schema would name an enum component for each.
    @extend_schema_field({"type": "string", "pattern": f"^{value}$", "example": value})
    class Outcome(serializers.CharField):
        pass

    return Outcome(help_text=value)


class ResolvedAnswerSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="resolved")
    id = serializers.CharField(help_text=CANONICAL_ID_HELP)
    record = serializers.DictField(help_text=RECORD_HELP)
    reference = ResolutionReferenceSerializer()


class ResolveCandidateSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The record's public id.")
    name = serializers.CharField(help_text="Its description (items) or name.")
    score = serializers.FloatField(
        help_text="0-100. A near miss scores how alike the two codes are once case, "
        "separators, O/0, I/1, leading zeros and a prefix are set aside (at most 99)."
    )
    evidence = serializers.DictField(help_text="What agreed, by field, with its score.")
    source = serializers.ChoiceField(
        choices=["near_miss", "match"],
        help_text="near_miss: an existing code of the same system and kind a typing slip away; "
        "match: the match index's fuzzy candidate for the code as text.",
    )
    reason = serializers.CharField(
        help_text='Why it was suggested, e.g. "one character differs: O for 0", "same code '
        'without the prefix \'PL-\'", "description matches 92".'
    )
    system = serializers.CharField(required=False, help_text="near_miss: the system.")
    code = serializers.CharField(required=False, help_text="near_miss: the existing code.")
    scope = serializers.CharField(
        required=False, help_text="near_miss: the existing code's scope (empty: unscoped)."
    )


class NotFoundAnswerSerializer(serializers.Serializer):
    outcome = _outcome("not_found")
    candidates = ResolveCandidateSerializer(
        many=True,
        help_text="Items, suppliers and locations: first the near misses among the system's "
        "codes of the kind, then the match index's candidates for the code, closest first, at "
        "most 5. Batch answers carry the near misses only.",
    )


class RetiredAnswerSerializer(serializers.Serializer):
    outcome = _outcome("retired")
    id = serializers.CharField(help_text="The record the code meant.")
    valid_to = serializers.DateField(allow_null=True)
    reference = ResolutionReferenceSerializer()
    successor = ResolutionReferenceSerializer(
        allow_null=True,
        help_text="The reference that took over, starting when this one ended: the record's "
        "new code in the same system and scope, else this code reused there, else the record's "
        "code in another system (a cut-over).",
    )


class NotYetValidAnswerSerializer(serializers.Serializer):
    outcome = _outcome("not_yet_valid")
    id = serializers.CharField()
    valid_from = serializers.DateField()
    reference = ResolutionReferenceSerializer()


class ResolveScopeMatchSerializer(serializers.Serializer):
    scope = serializers.CharField()
    id = serializers.CharField()
    reference = ResolutionReferenceSerializer()


class AmbiguousAnswerSerializer(serializers.Serializer):
    outcome = _outcome("ambiguous")
    matches = ResolveScopeMatchSerializer(many=True)


class ResolveKeySerializer(serializers.Serializer):
    kind = serializers.CharField(help_text=", ".join(Kind.values))
    system = serializers.CharField()
    code = serializers.CharField()
    scope = serializers.CharField(required=False, allow_null=True, allow_blank=True)


class ResolveBatchSerializer(serializers.Serializer):
    as_of = serializers.DateField(required=False, help_text="Default: today.")
    keys = ResolveKeySerializer(many=True, help_text=f"At most {MAX_KEYS:,}.")


class ResolveBatchResultSerializer(serializers.Serializer):
    key = ResolveKeySerializer()
    status = serializers.CharField(
        help_text="resolved, not_found, retired, not_yet_valid or ambiguous; the other fields "
        "are those of the single resolve answer with this status."
    )
    id = serializers.CharField(required=False)
    record = serializers.DictField(required=False)
    reference = ResolutionReferenceSerializer(required=False)
    candidates = ResolveCandidateSerializer(
        many=True, required=False, help_text="not_found: the near misses of the code."
    )
    valid_from = serializers.DateField(required=False)
    valid_to = serializers.DateField(required=False, allow_null=True)
    successor = ResolutionReferenceSerializer(required=False, allow_null=True)
    matches = ResolveScopeMatchSerializer(many=True, required=False)


class ResolveBatchResultsSerializer(serializers.Serializer):
    results = ResolveBatchResultSerializer(many=True, help_text="In request order.")


class TranslatedAnswerSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="translated")
    code = serializers.CharField(help_text="The target system's code.")
    id = serializers.CharField(help_text=CANONICAL_ID_HELP)
    reference = ResolutionReferenceSerializer(help_text="The target system's reference.")


class NoCodeInTargetAnswerSerializer(serializers.Serializer):
    outcome = _outcome("no_code_in_target")
    id = serializers.CharField()


class NoPreferredAnswerSerializer(serializers.Serializer):
    outcome = _outcome("no_preferred")
    id = serializers.CharField()
    references = ResolutionReferenceSerializer(many=True)


class TranslateScopeMatchSerializer(serializers.Serializer):
    scope = serializers.CharField()
    code = serializers.CharField()
    reference = ResolutionReferenceSerializer()


class TranslateAmbiguousAnswerSerializer(serializers.Serializer):
    outcome = _outcome("ambiguous")
    id = serializers.CharField(
        required=False, help_text="Set when the target has preferred codes in several scopes."
    )
    matches = serializers.ListField(
        child=serializers.DictField(),
        help_text="Source scopes ({scope, id, reference}) or target scopes ({scope, code, "
        "reference}): name the one meant with scope or to_scope.",
    )


class TranslateKeySerializer(serializers.Serializer):
    kind = serializers.CharField(help_text=", ".join(Kind.values))
    from_system = serializers.CharField()
    code = serializers.CharField()
    to_system = serializers.CharField()
    scope = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    to_scope = serializers.CharField(required=False, allow_null=True, allow_blank=True)


class TranslateBatchSerializer(serializers.Serializer):
    as_of = serializers.DateField(required=False, help_text="Default: today.")
    keys = TranslateKeySerializer(many=True, help_text=f"At most {MAX_KEYS:,}.")


class TranslateBatchResultSerializer(serializers.Serializer):
    key = TranslateKeySerializer()
    status = serializers.CharField(
        help_text="translated, no_preferred, no_code_in_target, ambiguous, or the source "
        "code's not_found, retired or not_yet_valid; the other fields are those of the single "
        "answer with this status."
    )
    code = serializers.CharField(required=False)
    id = serializers.CharField(required=False)
    reference = ResolutionReferenceSerializer(required=False)
    references = ResolutionReferenceSerializer(many=True, required=False)
    candidates = serializers.ListField(child=serializers.DictField(), required=False)
    valid_from = serializers.DateField(required=False)
    valid_to = serializers.DateField(required=False, allow_null=True)
    successor = ResolutionReferenceSerializer(required=False, allow_null=True)
    matches = serializers.ListField(child=serializers.DictField(), required=False)


class TranslateBatchResultsSerializer(serializers.Serializer):
    results = TranslateBatchResultSerializer(many=True, help_text="In request order.")


BAD_PARAMETERS = OpenApiResponse(
    description="A parameter is missing or wrong; `errors` names it, e.g. "
    '[{"parameter": "system", "detail": "No source system SAP (known: ERP_LEGACY, PLANNING)."}].'
)


class MalformedKeySerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The key's place in `keys`, from 0.")
    field = serializers.CharField(allow_null=True, help_text="Null: the key is no key at all.")
    message = serializers.CharField()


class BadBatchSerializer(serializers.Serializer):
    keys = MalformedKeySerializer(
        many=True, required=False, help_text="The malformed keys, as `errors` lists them too."
    )


BAD_BATCH = OpenApiResponse(
    BadBatchSerializer,
    description="More keys than allowed, a bad as_of, or malformed keys (at most 20 listed), "
    'each in `errors` with its place, e.g. {"pointer": "#/keys/3/kind", "detail": "Unknown '
    'kind ..."}, and in `keys` by index and field.',
)
KIND_PARAMETER = OpenApiParameter(
    "kind", OpenApiTypes.STR, OpenApiParameter.PATH, enum=Kind.values, description="Record kind"
)
AS_OF_PARAMETER = OpenApiParameter(
    "as_of", OpenApiTypes.DATE, description="The day the code must be valid on (default: today)"
)
SCOPE_HELP = "Plant or company code the code is unique within; a code valid in every scope "
SCOPE_HELP += "also answers"

REFERENCE_EXAMPLE = {
    "id": 4711,
    "system": "ERP_LEGACY",
    "kind": "item",
    "scope": "1000",
    "code": "100234",
    "valid_from": None,
    "valid_to": "2025-07-01",
    "status": "active",
    "is_preferred": True,
}
CLOUD_EXAMPLE = {
    **REFERENCE_EXAMPLE,
    "id": 9001,
    "system": "ERP_CLOUD",
    "scope": "",
    "code": "MAT-100234",
    "valid_from": "2025-07-01",
    "valid_to": None,
}
ITEM_EXAMPLE = {
    "id": "ITM-000123",
    "number": "BRG-6204",
    "description": "Deep groove ball bearing 6204",
    "status": "active",
    "base_unit": "H87",
}


RESOLVE_EXAMPLES = [
    OpenApiExample(
        "Resolved",
        value={
            "status": "resolved",
            "id": "ITM-000123",
            "record": ITEM_EXAMPLE,
            "reference": REFERENCE_EXAMPLE,
        },
        response_only=True,
        status_codes=["200"],
    ),
    OpenApiExample(
        "Not found: a mistyped code",
        value={
            **problem(404, "ERP_LEGACY has no item code '100O22'."),
            "outcome": "not_found",
            "candidates": [
                {
                    "id": "ITM-000023",
                    "name": "Deep groove ball bearing 6205",
                    "score": 99.0,
                    "evidence": {"code": 99.0},
                    "source": "near_miss",
                    "system": "ERP_LEGACY",
                    "code": "100022",
                    "scope": "1000",
                    "reason": "one character differs: O for 0",
                }
            ],
        },
        response_only=True,
        status_codes=["404"],
    ),
    OpenApiExample(
        "Retired at a cut-over",
        value={
            **problem(
                404,
                "ERP_LEGACY's item code '100234' in scope 1000 is retired since 2025-07-01. "
                "Its successor is named.",
            ),
            "outcome": "retired",
            "id": "ITM-000123",
            "valid_to": "2025-07-01",
            "reference": REFERENCE_EXAMPLE,
            "successor": CLOUD_EXAMPLE,
        },
        response_only=True,
        status_codes=["404"],
    ),
    OpenApiExample(
        "Ambiguous without scope",
        value={
            **problem(
                409,
                "ERP_LEGACY's item code '100234' has answers in several scopes; name the one "
                "meant with scope.",
            ),
            "outcome": "ambiguous",
            "matches": [
                {"scope": "1000", "id": "ITM-000123", "reference": REFERENCE_EXAMPLE},
                {
                    "scope": "2000",
                    "id": "ITM-000456",
                    "reference": {**REFERENCE_EXAMPLE, "id": 4712, "scope": "2000"},
                },
            ],
        },
        response_only=True,
        status_codes=["409"],
    ),
]


class ResolveView(ResolutionView):
    @extend_schema(
        operation_id="resolve_code",
        summary="Resolve one code of a source system",
        description=(
            "The canonical record the code means on `as_of`. 404 when the code is unknown "
            "(`not_found`, with candidates: near misses of the code first, each with its "
            "reason), ended (`retired`, with its successor) or "
            "not valid yet (`not_yet_valid`); 409 `ambiguous` when no scope was given and the "
            "code means different records in several scopes. Unit codes resolve only through "
            "cross-references."
        ),
        tags=["resolve"],
        parameters=[
            KIND_PARAMETER,
            OpenApiParameter(
                "system", OpenApiTypes.STR, required=True, description="e.g. ERP_LEGACY"
            ),
            OpenApiParameter(
                "code", OpenApiTypes.STR, required=True, description="The system's code"
            ),
            OpenApiParameter("scope", OpenApiTypes.STR, description=SCOPE_HELP),
            AS_OF_PARAMETER,
        ],
        responses={
            200: ResolvedAnswerSerializer,
            404: PolymorphicProxySerializer(
                component_name="ResolveMiss",
                serializers=[
                    NotFoundAnswerSerializer,
                    RetiredAnswerSerializer,
                    NotYetValidAnswerSerializer,
                ],
                resource_type_field_name=None,
            ),
            409: AmbiguousAnswerSerializer,
            400: BAD_PARAMETERS,
        },
        examples=RESOLVE_EXAMPLES,
    )
    def get(self, request, kind):
        return _single(resolve.resolve, request.query_params, RESOLVE_FIELDS, kind)


class ResolveBatchView(ResolutionView):
    parser_classes = [BatchJSONParser]

    @extend_schema(
        operation_id="resolve_batch",
        summary="Resolve many codes in one call",
        description=(
            f"Up to {MAX_KEYS:,} keys, answered in request order with the key echoed; each "
            "answer is what the single resolve would give, except that `not_found` carries the "
            "near misses only (no match index search per key). More keys, or malformed keys "
            "(listed by index), are a 400."
        ),
        tags=["resolve"],
        request=ResolveBatchSerializer,
        responses={200: ResolveBatchResultsSerializer, 400: BAD_BATCH},
        examples=[
            OpenApiExample(
                "Two keys",
                value={
                    "as_of": "2025-06-30",
                    "keys": [
                        {"kind": "item", "system": "ERP_LEGACY", "code": "100234", "scope": "1000"},
                        {"kind": "supplier", "system": "SUPPLIER_NET", "code": "V-77"},
                    ],
                },
                request_only=True,
            ),
        ],
    )
    def post(self, request):
        return _batch(resolve.resolve_many, request, RESOLVE_FIELDS)


class TranslateView(ResolutionView):
    @extend_schema(
        operation_id="translate_code",
        summary="Translate one code into another system's code",
        description=(
            "Resolves the code in `from_system`, then gives `to_system`'s preferred code for "
            "the record on `as_of` (its only code when none is preferred). 404 when the source "
            "code does not resolve or the target has no code (`no_code_in_target`); 409 when "
            "the target has several codes and none preferred (`no_preferred`) or the answer is "
            "ambiguous."
        ),
        tags=["resolve"],
        parameters=[
            KIND_PARAMETER,
            OpenApiParameter("from_system", OpenApiTypes.STR, required=True),
            OpenApiParameter("code", OpenApiTypes.STR, required=True),
            OpenApiParameter("to_system", OpenApiTypes.STR, required=True),
            OpenApiParameter("scope", OpenApiTypes.STR, description="Scope in from_system"),
            OpenApiParameter("to_scope", OpenApiTypes.STR, description="Scope in to_system"),
            AS_OF_PARAMETER,
        ],
        responses={
            200: TranslatedAnswerSerializer,
            404: PolymorphicProxySerializer(
                component_name="TranslateMiss",
                serializers=[
                    NotFoundAnswerSerializer,
                    RetiredAnswerSerializer,
                    NotYetValidAnswerSerializer,
                    NoCodeInTargetAnswerSerializer,
                ],
                resource_type_field_name=None,
            ),
            409: PolymorphicProxySerializer(
                component_name="TranslateConflict",
                serializers=[NoPreferredAnswerSerializer, TranslateAmbiguousAnswerSerializer],
                resource_type_field_name=None,
            ),
            400: BAD_PARAMETERS,
        },
        examples=[
            OpenApiExample(
                "Translated",
                value={
                    "status": "translated",
                    "code": "MAT-100234",
                    "id": "ITM-000123",
                    "reference": CLOUD_EXAMPLE,
                },
                response_only=True,
                status_codes=["200"],
            ),
            OpenApiExample(
                "No preferred code",
                value={
                    **problem(
                        409, "ITM-000123 has several codes in ERP_CLOUD and none is preferred."
                    ),
                    "outcome": "no_preferred",
                    "id": "ITM-000123",
                    "references": [
                        {**CLOUD_EXAMPLE, "is_preferred": False},
                        {
                            **CLOUD_EXAMPLE,
                            "id": 9002,
                            "code": "MAT-100234-B",
                            "is_preferred": False,
                        },
                    ],
                },
                response_only=True,
                status_codes=["409"],
            ),
        ],
    )
    def get(self, request, kind):
        return _single(resolve.translate, request.query_params, TRANSLATE_FIELDS, kind)


class TranslateBatchView(ResolutionView):
    parser_classes = [BatchJSONParser]

    @extend_schema(
        operation_id="translate_batch",
        summary="Translate many codes in one call",
        description=(
            f"Up to {MAX_KEYS:,} keys, answered in request order with the key echoed; each "
            "answer is what the single translate would give, except that `not_found` carries "
            "no candidates."
        ),
        tags=["resolve"],
        request=TranslateBatchSerializer,
        responses={200: TranslateBatchResultsSerializer, 400: BAD_BATCH},
    )
    def post(self, request):
        return _batch(resolve.translate_many, request, TRANSLATE_FIELDS)

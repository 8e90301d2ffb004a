"""API v1 resolution and translation: thin views over `xref.resolve`.

The service returns plain dicts and the views hand them to the renderer as they are: this is
the hot path, so no serializer runs per key. The answers' serializers in xref.serializers
only describe the shapes for the OpenAPI schema. Integration clients and stewards may call
every view here (POST included: a batch resolve changes nothing); viewers may not.
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
)
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from core.parsers import BatchJSONParser
from core.problems import ProblemResponse, pointer, problem
from core.roles import INTEGRATION, STEWARD
from xref import resolve
from xref.models import Kind
from xref.serializers import (
    AmbiguousAnswerSerializer,
    BadBatchSerializer,
    NoCodeInTargetAnswerSerializer,
    NoPreferredAnswerSerializer,
    NotFoundAnswerSerializer,
    NotYetValidAnswerSerializer,
    ResolveBatchResultsSerializer,
    ResolveBatchSerializer,
    ResolvedAnswerSerializer,
    RetiredAnswerSerializer,
    TranslateAmbiguousAnswerSerializer,
    TranslateBatchResultsSerializer,
    TranslateBatchSerializer,
    TranslatedAnswerSerializer,
)

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
    data = request.data
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ValidationError({"keys": ["Give the keys as a list of objects."]})
    keys = data["keys"]
    if len(keys) > resolve.MAX_KEYS:
        raise ValidationError(
            {"keys": [f"At most {resolve.MAX_KEYS:,} keys per call; got {len(keys):,}. Split it."]}
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


BAD_PARAMETERS = OpenApiResponse(
    description="A parameter is missing or wrong; `errors` names it, e.g. "
    '[{"parameter": "system", "detail": "No source system SAP (known: ERP_LEGACY, PLANNING)."}].'
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
            f"Up to {resolve.MAX_KEYS:,} keys, answered in request order with the key echoed; each "
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
            f"Up to {resolve.MAX_KEYS:,} keys, answered in request order with the key echoed; each "
            "answer is what the single translate would give, except that `not_found` carries "
            "no candidates."
        ),
        tags=["resolve"],
        request=TranslateBatchSerializer,
        responses={200: TranslateBatchResultsSerializer, 400: BAD_BATCH},
    )
    def post(self, request):
        return _batch(resolve.translate_many, request, TRANSLATE_FIELDS)

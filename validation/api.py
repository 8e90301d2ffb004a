"""API v1 of transaction validation: contracts, message submission and outcomes, dry runs.
Thin: validation.submission stores and dry-runs, validation.contracts answers for contracts,
core.auth decides who may.

Reads: any role; an integration client sees only its own system's messages. Submitting and
dry runs: integration and steward API clients, as the system of their key.
"""

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from core.parsers import JSONParser
from core.problems import ProblemResponse, json_path_pointer
from core.rest import BearerKeyScheme  # noqa: F401  (registers the schema extension)
from core.roles import INTEGRATION, STEWARD, VIEWER, has_role
from mdm.filters import BoundedTextFilterSet, UtcDateTimeFilter
from mdm.models import ApiClient
from validation import budget, contracts, reports
from validation.models import InboundMessage, MessageType, SupplyException
from validation.serializers import (
    AcceptedSerializer,
    ConflictSerializer,
    ContractSummarySerializer,
    DryRunResultSerializer,
    MessageSerializer,
    MessageSummarySerializer,
    OverBudgetSerializer,
    RejectedSerializer,
    SubmissionSerializer,
    SupplyExceptionSerializer,
    absolute_url,
)
from validation.submission import IdempotencyConflict, PartConflict, dry_run, submit_message
from validation.tracing import EXAMPLE, traceparent_problem

IDEMPOTENCY_KEY_MAX = InboundMessage._meta.get_field("idempotency_key").max_length
SUBMITTERS = (INTEGRATION, STEWARD)


def sending_system(request):
    """The system a request speaks for: its API client's. A login session has none."""
    if not isinstance(request.auth, ApiClient):
        raise PermissionDenied(
            "Messages are sent by a source system: call with the API key of one of its API "
            "clients (Authorization: Bearer <key>). A login session speaks for no system."
        )
    return request.auth.system


def visible_messages(request):
    """Stewards and viewers see every message; an integration client its own system's."""
    messages = InboundMessage.objects.select_related("system")
    if has_role(request.user, STEWARD, VIEWER):
        return messages
    if isinstance(request.auth, ApiClient):
        return messages.filter(system=request.auth.system)
    return messages.none()


RETRY_AFTER_HEADER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    response=[429],
    description="Seconds to wait before sending again.",
)


class MessageFilterSet(BoundedTextFilterSet):
    type = django_filters.ChoiceFilter(field_name="message_type", choices=MessageType.choices)
    system = django_filters.CharFilter(
        field_name="system__code", lookup_expr="iexact", label="Source system code"
    )
    status = django_filters.ChoiceFilter(choices=InboundMessage.Status.choices)
    received_after = UtcDateTimeFilter(
        field_name="received_at",
        lookup_expr="gte",
        label="Received at or after this ISO 8601 date-time",
    )
    received_before = UtcDateTimeFilter(
        field_name="received_at",
        lookup_expr="lt",
        label="Received before this ISO 8601 date-time",
    )

    class Meta:
        model = InboundMessage
        fields = []


IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX, "pattern": r"\S"},
    OpenApiParameter.HEADER,
    required=True,
    description="Unique per message (e.g. a UUID). Sending the same message with the same "
    "key again is safe: the original is returned.",
)
TRACEPARENT_HEADER = OpenApiParameter(
    "traceparent",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="The W3C trace context the message belongs to, e.g. "
    f"{EXAMPLE}: the hub keeps it, continues the trace in its validation and passes it on "
    "in the message's events. A `traceparent` field in the body is taken before it; a "
    "malformed one is a 400.",
)


@extend_schema_view(
    list=extend_schema(summary="List messages (an integration client: its own system's)"),
    retrieve=extend_schema(summary="A message with its status, diagnostics and outcome"),
    create=extend_schema(
        summary="Submit a message",
        description=(
            "Stores the message as sent by the API client's system and validates it in the "
            "background: poll its url until the status is released, quarantined or "
            "dead_letter. A payload that breaks its contract is refused with every error "
            "(and kept as rejected). The same Idempotency-Key with the same message returns "
            "the original (200); with a different one, 409. A forecast too large for one "
            "request goes in parts (part {number, of}, same plan_id and version): each part "
            "is acknowledged, and all reach one outcome when the last is in."
        ),
        parameters=[IDEMPOTENCY_HEADER, TRACEPARENT_HEADER, RETRY_AFTER_HEADER],
        request=SubmissionSerializer,
        responses={
            202: OpenApiResponse(AcceptedSerializer, description="Stored; validation queued."),
            200: OpenApiResponse(MessageSerializer, description="Sent before: the original."),
            400: OpenApiResponse(RejectedSerializer, description="Breaks the contract."),
            409: OpenApiResponse(ConflictSerializer, description="Key or part already used."),
            413: OpenApiResponse(description="Body over HUB_MAX_REQUEST_BYTES."),
            429: OpenApiResponse(
                OverBudgetSerializer,
                description="The system has used its submission budget for this minute "
                "(messages or bytes; `budget` names which), or too many wrong keys came from "
                "the caller's address: nothing was stored; send again after Retry-After.",
            ),
        },
    ),
)
class MessageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Inbound messages, addressed by public id (MSG-000123)."""

    write_roles = SUBMITTERS
    parser_classes = [JSONParser]
    filterset_class = MessageFilterSet
    lookup_field = "public_id"
    lookup_url_kwarg = "public_id"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        messages = visible_messages(self.request)
        if self.action == "list":
            messages = messages.defer("payload", "released_payload", "diagnostics")
        return messages

    def get_serializer_class(self):
        if self.action == "list":
            return MessageSummarySerializer
        if self.action == "create":
            return SubmissionSerializer
        return MessageSerializer

    def create(self, request, *args, **kwargs):
        system = sending_system(request)
        try:  # counted before the body is read: a refused flood costs no parsing
            budget.spend_submission_budget(system, _declared_size(request))
        except budget.OverBudget as exc:
            return ProblemResponse(
                status.HTTP_429_TOO_MANY_REQUESTS,
                str(exc),
                headers={"Retry-After": str(exc.retry_after)},
                budget=exc.budget,
                limit=exc.limit,
                retry_after=exc.retry_after,
            )
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            return _bad_request(
                "Send an Idempotency-Key header: a key unique to this message (e.g. a UUID). "
                "Sending the same message with the same key again is then safe."
            )
        if len(key) > IDEMPOTENCY_KEY_MAX:
            return _bad_request(f"The Idempotency-Key may be at most {IDEMPOTENCY_KEY_MAX} long.")
        header_traceparent = request.headers.get("traceparent", "").strip()
        if header_traceparent and (problem := traceparent_problem(header_traceparent)):
            return _bad_request(f"The traceparent header is not a W3C traceparent. {problem}")
        serializer = SubmissionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            submission = submit_message(
                system=system,
                message_type=data["message_type"],
                schema_version=data["schema_version"],
                payload=data["payload"],
                idempotency_key=key,
                user=request.user,
                # The message's own context (its field) before the transport's (the header).
                traceparent=data.get("traceparent") or header_traceparent,
            )
        except contracts.UnknownContract as exc:
            return _bad_request(_unknown_contract(exc))
        except (IdempotencyConflict, PartConflict) as exc:
            return ProblemResponse(
                status.HTTP_409_CONFLICT,
                str(exc),
                id=exc.original.public_id,
                url=_message_url(request, exc.original),
            )
        message = submission.message
        if not submission.created:
            return Response(MessageSerializer(message, context={"request": request}).data)
        url = _message_url(request, message)
        if submission.errors:
            count = len(submission.errors)
            return ProblemResponse(
                status.HTTP_400_BAD_REQUEST,
                f"The payload breaks the {message.message_type} v{message.schema_version} "
                f"contract ({count} error{'s' * (count != 1)}); it is kept as "
                f"{message.public_id}, rejected.",
                errors=[_payload_error(error) for error in submission.errors],
                id=message.public_id,
                url=url,
            )
        return Response(
            {"id": message.public_id, "status": message.status, "url": url},
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": url},
        )


class ValidateView(APIView):
    """POST /api/v1/validate/: the whole pipeline over a message, storing nothing."""

    write_roles = SUBMITTERS
    parser_classes = [JSONParser]

    @extend_schema(
        summary="Validate a message without sending it (dry run)",
        description=(
            "Checks the contract and runs every rule as the API client's system, and returns "
            "what the outcome would be: released (with the released payload), quarantined or "
            "rejected, with the diagnostics. Nothing is stored. A part of a forecast release "
            "is validated on its own."
        ),
        request=SubmissionSerializer,
        responses={200: DryRunResultSerializer},
    )
    def post(self, request):
        system = sending_system(request)
        serializer = SubmissionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            result = dry_run(
                system=system,
                message_type=data["message_type"],
                schema_version=data["schema_version"],
                payload=data["payload"],
            )
        except contracts.UnknownContract as exc:
            return _bad_request(_unknown_contract(exc))
        return Response(result)


class ContractListView(GenericAPIView):
    """GET /api/v1/contracts/: every published contract."""

    serializer_class = ContractSummarySerializer
    filter_backends = []  # a list of files, not of rows: nothing to filter

    @extend_schema(
        summary="List the message contracts",
        operation_id="contracts_list",
        responses=ContractSummarySerializer(many=True),
    )
    def get(self, request):
        rows = [
            {
                **row,
                "url": absolute_url(
                    request, "contract-detail", message_type=row["type"], version=row["version"]
                ),
            }
            for row in contracts.list_contracts()
        ]
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class ContractDetailView(APIView):
    """GET /api/v1/contracts/{type}/{version}/: one contract's JSON Schema."""

    @extend_schema(
        summary="A message contract (JSON Schema, draft 2020-12)",
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, message_type, version):
        try:
            return Response(contracts.get_contract(message_type, version))
        except contracts.UnknownContract as exc:
            raise NotFound(_unknown_contract(exc)) from None


def _declared_size(request):
    """The body's length as declared (hub.middleware has refused a body longer than it)."""
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


def _bad_request(detail):
    return ProblemResponse(status.HTTP_400_BAD_REQUEST, detail)


def _payload_error(error):
    """A contract error of the payload as a problem's field error: the pointer into the
    request body, and the JSON path into the payload the message's diagnostics use."""
    return {
        "pointer": json_path_pointer(error["path"], "payload"),
        "path": error["path"],
        "detail": error["message"],
    }


def _unknown_contract(exc):
    published = ", ".join(f"{row['type']} v{row['version']}" for row in contracts.list_contracts())
    return f"{exc} Published: {published}."


def _message_url(request, message):
    return absolute_url(request, "message-detail", public_id=message.public_id)


class SupplyExceptionFilterSet(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=SupplyException.State.choices)
    supplier = django_filters.CharFilter(field_name="supplier__public_id", label="Supplier id")
    item = django_filters.CharFilter(field_name="item__public_id", label="Item id")
    plant = django_filters.CharFilter(field_name="plant__public_id", label="Plant id")
    po_number = django_filters.CharFilter(field_name="order_line__order__po_number")

    class Meta:
        model = SupplyException
        fields = []


@extend_schema_view(
    list=extend_schema(summary="Supply exceptions: supply at risk from acknowledgements"),
    retrieve=extend_schema(summary="A supply exception"),
)
class SupplyExceptionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Acknowledgements that commit less, or later, than ordered
    (validation.controls.acknowledgements): item, plant, purchase order line, quantity at risk
    and days late, newest first."""

    serializer_class = SupplyExceptionSerializer
    filterset_class = SupplyExceptionFilterSet

    def get_queryset(self):
        return reports.supply_exceptions()

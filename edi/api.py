"""API v1 of the EDI gateway: partners post interchanges (POST /api/v1/edi/, the raw body,
with the API key of their source system); everyone with a role reads the interchanges, an
integration client only its own system's partners'. Thin: edi.receiving does the work."""

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core.problems import ProblemResponse
from core.roles import INTEGRATION, STEWARD
from edi import receiving
from edi.models import Interchange
from edi.serializers import InterchangeSerializer, InterchangeSummarySerializer
from mdm.models import ApiClient
from validation.api import sending_system
from validation.serializers import absolute_url


def visible_interchanges(request):
    found = Interchange.objects.select_related("partner").defer("raw")
    if isinstance(request.auth, ApiClient):
        return found.filter(partner__system=request.auth.system)
    return found


class InterchangeParser(BaseParser):
    """The body as it came, whatever its content type: bytes, up to HUB_EDI_MAX_BYTES and one
    more (the view refuses a larger one)."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read(settings.HUB_EDI_MAX_BYTES + 1)


class InboxView(APIView):
    """POST /api/v1/edi/: an interchange, as the partner sends it."""

    write_roles = (INTEGRATION, STEWARD)
    parser_classes = [InterchangeParser]

    @extend_schema(
        summary="Send an X12 or EDIFACT interchange",
        description=(
            "The body is the interchange itself (any content type, such as application/edi-x12 "
            "or application/edifact), at most HUB_EDI_MAX_BYTES. It is stored first, then read: "
            "its sender (ISA05/06, UNB) must be a trading partner whose source system is the "
            "API key's. Each transaction set becomes a message of the validation pipeline; "
            "the answer carries the functional acknowledgement (997, 999 or CONTRL)."
        ),
        # Any content type is taken (application/EDI-X12 and application/EDIFACT, RFC 1767,
        # among them); the schema names the two generic ones.
        request={"application/octet-stream": OpenApiTypes.BINARY, "text/plain": OpenApiTypes.STR},
        responses={
            201: InterchangeSerializer,
            400: OpenApiResponse(description="Not an interchange"),
            403: OpenApiResponse(description="The key is not the partner's system's"),
            409: OpenApiResponse(description="Duplicate interchange control number"),
            411: OpenApiResponse(description="No Content-Length"),
            413: OpenApiResponse(description="Larger than HUB_EDI_MAX_BYTES"),
            422: OpenApiResponse(description="Unreadable, unknown partner, or nothing accepted"),
        },
    )
    def post(self, request):
        system = sending_system(request)
        limit = settings.HUB_EDI_MAX_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or "")
        except ValueError:
            return ProblemResponse(
                status.HTTP_411_LENGTH_REQUIRED,
                "Send the interchange with a Content-Length header.",
            )
        if declared > limit:  # refused before a byte of it is read
            return ProblemResponse(
                status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                f"The interchange is {declared:,} bytes; the hub takes at most {limit:,} "
                "(HUB_EDI_MAX_BYTES). Split it into several interchanges.",
                limit=limit,
            )
        raw = request.data if isinstance(request.data, bytes) else b""  # {}: no body at all
        if len(raw) > limit:  # more than it said
            return ProblemResponse(
                status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                f"The interchange is more than {limit:,} bytes (HUB_EDI_MAX_BYTES).",
                limit=limit,
            )
        if not raw:
            return ProblemResponse(
                status.HTTP_400_BAD_REQUEST, "The body is empty: send the interchange."
            )
        try:
            interchange = receiving.receive(
                raw, source=Interchange.Source.API, system=system, user=request.user
            )
        except receiving.Refused as refusal:
            return _refused(request, refusal)
        interchange = Interchange.objects.prefetch_related(
            "transaction_sets__message", "acknowledgements"
        ).get(pk=interchange.pk)
        data = InterchangeSerializer(interchange, context={"request": request}).data
        if interchange.status == Interchange.Status.REJECTED:
            return ProblemResponse(
                status.HTTP_422_UNPROCESSABLE_ENTITY,
                f"Nothing in interchange {interchange.control} was accepted; it is kept as "
                f"{interchange.public_id}, and the acknowledgement says why.",
                interchange=data,
            )
        return Response(data, status=status.HTTP_201_CREATED, headers={"Location": data["url"]})


def _refused(request, refusal):
    interchange = refusal.interchange
    extensions = {
        "id": interchange.public_id,
        "url": absolute_url(request, "edi-interchange-detail", public_id=interchange.public_id),
        "reason": refusal.title,
    }
    if refusal.code:
        extensions["code"] = refusal.code
    if refusal.offset is not None:
        extensions["offset"] = refusal.offset
    answer = interchange.acknowledgements.first()
    if answer is not None:
        extensions["acknowledgement"] = {"id": answer.public_id, "text": answer.text}
    return ProblemResponse(refusal.status_code, refusal.detail, **extensions)


class InterchangeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The interchanges received and sent, newest first (filters: partner name, status,
    direction, standard)."""

    lookup_field = "public_id"
    filterset_fields = ["status", "direction", "standard"]

    def get_queryset(self):
        found = visible_interchanges(self.request)
        partner = self.request.query_params.get("partner")
        if partner:
            found = found.filter(partner__name__iexact=partner)
        if self.action == "retrieve":
            found = found.prefetch_related("transaction_sets__message", "acknowledgements")
        return found

    def get_serializer_class(self):
        return InterchangeSummarySerializer if self.action == "list" else InterchangeSerializer

    @extend_schema(
        summary="The interchange as it was received or sent",
        responses={(200, "text/plain"): OpenApiTypes.STR},
    )
    @action(detail=True, methods=["get"], url_path="raw")
    def raw(self, request, public_id=None):
        interchange = self.get_object()
        raw = Interchange.objects.values_list("raw", flat=True).get(pk=interchange.pk)
        return HttpResponse(bytes(raw), content_type="text/plain; charset=utf-8")

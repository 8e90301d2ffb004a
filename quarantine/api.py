"""API v1 of quarantine cases: list and read them with the queue's filters, and replay,
reject or release one. Thin: quarantine.services acts and checks permissions (403), a
CaseConflict becomes a 409.

Reads: any role; an integration client sees only its own system's cases. Actions: stewards;
release also needs the override permission.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from core.problems import ProblemResponse
from core.rest import BearerKeyScheme  # noqa: F401  (registers the schema extension)
from core.roles import STEWARD, VIEWER, has_role
from mdm.models import ApiClient
from quarantine import services, supply
from quarantine.filters import CaseFilter
from quarantine.models import QuarantineCase
from quarantine.serializers import (
    CaseConflictSerializer,
    CaseSerializer,
    CaseSummarySerializer,
    ReasonSerializer,
    ReplaySerializer,
    SupplyExceptionStateSerializer,
    SupplyNoteRequestSerializer,
)
from validation.models import SupplyException

ACTION_RESPONSES = {
    200: CaseSerializer,
    400: OpenApiResponse(description="The reason is missing or invalid."),
    403: OpenApiResponse(description="Your role or permissions do not allow this."),
    404: OpenApiResponse(description="No such case."),
    409: CaseConflictSerializer,
}


def visible_cases(request):
    """Stewards and viewers see every case; an integration client its own system's."""
    cases = QuarantineCase.objects.select_related("message", "system", "assignee")
    if has_role(request.user, STEWARD, VIEWER):
        return cases
    if isinstance(request.auth, ApiClient):
        return cases.filter(system=request.auth.system)
    return cases.none()


class CaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Quarantine cases: messages held back by validation, with their diagnostics."""

    filterset_class = CaseFilter
    queryset = QuarantineCase.objects.none()  # for the schema; get_queryset() decides

    def get_queryset(self):
        cases = visible_cases(self.request)
        if self.action == "list":
            return cases.defer(
                "diagnostics",
                "search_text",
                "message__payload",
                "message__released_payload",
                "message__diagnostics",
            ).prefetch_related("rules")
        return cases.prefetch_related("transitions__by")

    def get_serializer_class(self):
        if self.action == "list":
            return CaseSummarySerializer
        if self.action == "replay":
            return ReplaySerializer
        if self.action in ("reject", "release"):
            return ReasonSerializer
        return CaseSerializer

    @extend_schema(request=ReplaySerializer, responses=ACTION_RESPONSES)
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        """Validate the case's message again; the case resolves when it is released."""
        return self._act(request, services.replay, ReplaySerializer)

    @extend_schema(request=ReasonSerializer, responses=ACTION_RESPONSES)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Close the case for good, with a reason; the message is never released."""
        return self._act(request, services.reject, ReasonSerializer)

    @extend_schema(request=ReasonSerializer, responses=ACTION_RESPONSES)
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        """Release the message despite its diagnostics (the override permission), with a
        reason."""
        return self._act(request, services.release_by_override, ReasonSerializer)

    def _act(self, request, func, serializer_class):
        case = self.get_object()
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            func(case, by=request.user, **serializer.validated_data)
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None
        except services.CaseConflict as exc:
            return ProblemResponse(status.HTTP_409_CONFLICT, str(exc))
        fresh = self.get_queryset().get(pk=case.pk)
        return Response(CaseSerializer(fresh, context={"request": request}).data)


SUPPLY_RESPONSES = {
    200: SupplyExceptionStateSerializer,
    400: OpenApiResponse(description="A note is needed to close."),
    403: OpenApiResponse(description="Only data stewards acknowledge or close."),
    404: OpenApiResponse(description="No such supply exception."),
    409: OpenApiResponse(description="Already acknowledged or closed (by whom, when)."),
}


class SupplyExceptionStepViewSet(viewsets.GenericViewSet):
    """Acknowledge or close a supply exception, with a note (its history keeps who, when
    and the note). Stewards only; the list and its filters are GET /api/v1/supply-exceptions/."""

    queryset = SupplyException.objects.all()
    serializer_class = SupplyNoteRequestSerializer

    @extend_schema(request=SupplyNoteRequestSerializer, responses=SUPPLY_RESPONSES)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        """Say the exception is seen and being handled; the note (optional) says how."""
        return self._step(request, supply.acknowledge)

    @extend_schema(request=SupplyNoteRequestSerializer, responses=SUPPLY_RESPONSES)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        """Close the exception with a note saying how it was settled."""
        return self._step(request, supply.close)

    def _step(self, request, func):
        if not supply.can_act(request.user):
            raise PermissionDenied("Only data stewards can acknowledge or close supply exceptions.")
        exception = self.get_object()
        serializer = SupplyNoteRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            func(exception, by=request.user, note=serializer.validated_data.get("note", ""))
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None
        except supply.SupplyConflict as exc:
            return ProblemResponse(status.HTTP_409_CONFLICT, str(exc))
        fresh = supply.with_state(SupplyException.objects.filter(pk=exception.pk)).get()
        fresh.state_name = supply.state_of(fresh)
        return Response(SupplyExceptionStateSerializer(fresh).data)

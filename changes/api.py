"""API v1 of change requests: list and read them (any role), ask for one (stewards), and
approve, reject (the approver permission, never one's own), withdraw, rebase (the requester)
or apply now as an emergency (the emergency permission). Thin: changes.requests acts and
checks who may; a refusal is a 409 saying why, a stale request one too."""

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from changes import diffs, policies, registry, requests
from changes.filters import ChangeRequestFilter
from changes.models import ChangeRequest
from changes.serializers import (
    AskSerializer,
    ChangeRequestDetailSerializer,
    ChangeRequestSerializer,
    CommentSerializer,
    EmergencyReasonSerializer,
)
from core.problems import ProblemResponse

ACTION_RESPONSES = {
    200: ChangeRequestDetailSerializer,
    400: OpenApiResponse(description="A comment or reason is missing."),
    403: OpenApiResponse(description="Not yours to decide (your own request, no permission)."),
    404: OpenApiResponse(description="No such change request."),
    409: OpenApiResponse(description="Decided already, or stale: the records changed since."),
}


class ChangeRequestViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Change requests: changes to governed records waiting for a second person's approval."""

    filterset_class = ChangeRequestFilter
    queryset = ChangeRequest.objects.select_related(
        "requested_by", "decided_by", "emergency_by"
    ).prefetch_related("items")

    def get_serializer_class(self):
        if self.action == "create":
            return AskSerializer
        if self.action == "list":
            return ChangeRequestSerializer
        return ChangeRequestDetailSerializer

    @extend_schema(request=AskSerializer, responses={201: ChangeRequestDetailSerializer})
    def create(self, request, *args, **kwargs):
        """Ask for a change of one record (any governed kind, whether or not a policy asks
        for approval); it is applied when another person approves it."""
        asked = AskSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        data = asked.validated_data
        instance = _record(data)
        try:
            if data["action"] != policies.DELETE:
                diffs.assign(instance, data["changes"])
                instance.full_clean()
            proposal = requests.propose(instance, data["action"])
            if proposal is None:
                raise ValidationError({"changes": "This changes nothing on the record."})
            created = requests.ask([proposal], by=request.user, reason=data["reason"], source="api")
        except DjangoValidationError as exc:
            raise ValidationError(_errors(exc)) from None
        body = ChangeRequestDetailSerializer(created, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=CommentSerializer, responses=ACTION_RESPONSES)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve another person's request: it is applied now, in one transaction (an
        emergency change is recorded as approved after the fact)."""
        return self._act(request, CommentSerializer, requests.approve)

    @extend_schema(request=CommentSerializer, responses=ACTION_RESPONSES)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Reject another person's request, with a comment saying why."""
        return self._act(request, CommentSerializer, requests.reject)

    @extend_schema(request=None, responses=ACTION_RESPONSES)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        """Take back one's own open request."""
        return self._act(request, None, requests.withdraw)

    @extend_schema(request=None, responses=ACTION_RESPONSES)
    @action(detail=True, methods=["post"])
    def rebase(self, request, pk=None):
        """Bring one's own open request up to date with the records as they are now."""
        return self._act(request, None, requests.rebase)

    @extend_schema(request=EmergencyReasonSerializer, responses=ACTION_RESPONSES)
    @action(detail=True, methods=["post"], url_path="apply-now")
    def apply_now(self, request, pk=None):
        """Apply an open request at once as an emergency (the emergency permission); it still
        needs another person's approval after the fact."""
        return self._act(request, EmergencyReasonSerializer, requests.apply_now)

    def _act(self, request, serializer_class, func):
        change = self.get_object()
        values = {}
        if serializer_class is not None:
            given = serializer_class(data=request.data)
            given.is_valid(raise_exception=True)
            values = given.validated_data
        try:
            func(change, by=request.user, **values)
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None
        except DjangoValidationError as exc:
            raise ValidationError(_errors(exc)) from None
        except requests.Refused as exc:
            return ProblemResponse(status.HTTP_409_CONFLICT, str(exc))
        fresh = self.get_queryset().get(pk=change.pk)
        return Response(ChangeRequestDetailSerializer(fresh, context={"request": request}).data)


def _record(data):
    """The record a request is about (a new one for a creation), or a 400 naming the field."""
    kind = registry.governed(data["kind"])
    if kind is None:
        known = ", ".join(sorted(registry.GOVERNED)) or "none"
        raise ValidationError({"kind": f"No kind {data['kind']!r}; the kinds are: {known}."})
    model = kind.model_class
    for name in data.get("changes", {}):
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            field = None
        if field is None or field not in diffs.writable_fields(model):
            raise ValidationError({"changes": f"{kind.title} have no field {name!r} to change."})
        # A value of the wrong type is refused here: kept as given, the model's own checks
        # would query with it (a text where a record's id belongs) and fail with a 500.
        value = data["changes"][name]
        try:
            if value is not None:
                field.to_python(value)
        except DjangoValidationError as exc:
            raise ValidationError({"changes": f"{name}: {' '.join(exc.messages)}"}) from None
    if data["action"] == policies.CREATE:
        if data.get("object"):
            raise ValidationError({"object": "A new record has no id yet: leave it out."})
        return model()
    if not data.get("object"):
        raise ValidationError({"object": "Name the record to change or delete (its id)."})
    given = str(data["object"]).strip()
    if given.isdigit():
        lookup = {"pk": given}
    elif hasattr(model, "public_id"):
        lookup = {"public_id": given}
    else:
        raise ValidationError({"object": f"{given!r} is not a record id."})
    return get_object_or_404(model, **lookup)


def _errors(exc):
    return exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}

"""API v1 of the cross-reference registry: /api/v1/xrefs/. Thin: the serializer parses and
validates, xref.services registers and changes, core.auth decides who may (reads: any role;
writes: stewards).

A write a policy says needs approval (changes) answers 202 with the change request it became
and writes nothing (changes.api_doors); the reason comes in the X-Change-Reason header. A
registration of a mapping already registered, or one colliding with another reference, is
not held: the service answers it as ever (200 with the registered one, 409 naming the clash)
without writing."""

from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.response import Response

from changes import policies
from changes.api_doors import HELD, REASON_PARAMETER, held
from core.problems import ProblemResponse
from xref import services
from xref.filters import CrossReferenceFilterSet
from xref.models import TARGET_PATHS, CrossReference, overlapping_claim
from xref.serializers import (
    CrossReferenceSerializer,
    ReferenceConflictResponseSerializer,
    conflict_body,
)

CONFLICT = OpenApiResponse(
    ReferenceConflictResponseSerializer,
    description="Another active reference claims this code on a shared day; it is named.",
)


@extend_schema_view(
    create=extend_schema(
        summary="Register a cross-reference (idempotent)",
        description=(
            "Registers that a system's code means a canonical record. The same mapping again "
            "(same system, kind, scope, code and record, over the same dates or dates inside "
            "the registered ones) returns the registered reference with 200; a new one is a "
            "201; a mapping that collides with another reference is a 409 naming it."
        ),
        parameters=[REASON_PARAMETER],
        responses={
            200: OpenApiResponse(CrossReferenceSerializer, description="Already registered."),
            201: OpenApiResponse(CrossReferenceSerializer, description="Registered."),
            202: HELD,
            409: CONFLICT,
        },
    ),
    update=extend_schema(
        parameters=[REASON_PARAMETER],
        responses={200: CrossReferenceSerializer, 202: HELD, 409: CONFLICT},
    ),
    partial_update=extend_schema(
        parameters=[REASON_PARAMETER],
        responses={200: CrossReferenceSerializer, 202: HELD, 409: CONFLICT},
    ),
    destroy=extend_schema(parameters=[REASON_PARAMETER], responses={204: None, 202: HELD}),
)
class CrossReferenceViewSet(viewsets.ModelViewSet):
    """Cross-references: in source system S, within scope C, code X of kind K means canonical
    record R from F until T. Addressed by id."""

    queryset = CrossReference.objects.select_related("system", "created_by", *TARGET_PATHS)
    serializer_class = CrossReferenceSerializer
    filterset_class = CrossReferenceFilterSet

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        record = serializer.unsaved_instance(serializer.validated_data)
        if overlapping_claim(record) is None:  # else registered already, or a conflict
            answer = held(request, record, policies.CREATE)
            if answer is not None:
                return answer
        try:
            reference, created = services.register_reference(
                user=request.user, **serializer.registration()
            )
        except services.ReferenceConflict as exc:
            return ProblemResponse(status.HTTP_409_CONFLICT, exc.message, **conflict_body(exc))
        data = self.get_serializer(self.get_queryset().get(pk=reference.pk)).data
        return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def update(self, request, *args, **kwargs):
        reference = self.get_object()
        serializer = self.get_serializer(
            reference, data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        record = serializer.unsaved_instance(serializer.validated_data)
        if record.status != CrossReference.Status.ACTIVE or overlapping_claim(record) is None:
            answer = held(request, record, policies.UPDATE)  # a clash is the service's 409
            if answer is not None:
                return answer
        try:
            services.update_reference(reference, user=request.user, **serializer.changes())
        except services.ReferenceConflict as exc:
            return ProblemResponse(status.HTTP_409_CONFLICT, exc.message, **conflict_body(exc))
        return Response(self.get_serializer(self.get_queryset().get(pk=reference.pk)).data)

    def destroy(self, request, *args, **kwargs):
        reference = self.get_object()
        answer = held(request, reference, policies.DELETE)
        if answer is not None:
            return answer
        self.perform_destroy(reference)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def perform_destroy(self, instance):
        with transaction.atomic():
            instance.delete()

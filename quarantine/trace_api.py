"""GET /api/v1/trace/: the thread from a demand change to its supply consequence
(quarantine.trace) as JSON, for an item at a plant, a purchase order, a forecast version or a
supply exception. Thin: quarantine.trace reads the parameters and builds the thread.

Reads: any role (core.auth.RolePermission). A missing or bad parameter is a 400 problem
naming the parameter; an unknown order, item, plant, forecast or exception a 404.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.problems import ProblemResponse
from quarantine import trace


class TraceSystemSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="The system's code; HUB for the hub's own steps.")
    name = serializers.CharField()


class LatencySerializer(serializers.Serializer):
    seconds = serializers.FloatField(help_text="Seconds since the step before.")
    words = serializers.CharField(help_text='The same in words: "2 days 4 h later".')


class QuarantineStopSerializer(serializers.Serializer):
    case = serializers.IntegerField(help_text="The quarantine case's id.")
    opened_at = serializers.DateTimeField(help_text="When the hub held the message.")
    resolved_at = serializers.DateTimeField(allow_null=True, help_text="Null while open.")
    open = serializers.BooleanField()
    outcome = serializers.CharField(help_text="How the case ended, or its status, in words.")
    resolution = serializers.CharField(
        allow_null=True,
        help_text="fix, conversion, edit, replay, auto_replay, override or reject; null while "
        "open.",
    )
    fixed_by = serializers.CharField(
        allow_null=True,
        help_text="Who ended it: the person who closed it or started the replay that released "
        'it, "the hub" for an automatic replay; null while open.',
    )
    note = serializers.CharField(help_text="What they recorded when they did.")
    held_seconds = serializers.FloatField(
        help_text="How long it held the flow: opened to resolved, or to now while open."
    )
    held_words = serializers.CharField()


class TraceStepSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="One of: " + ", ".join(trace.KINDS) + ".")
    at = serializers.DateTimeField(help_text="The record's own time.")
    system = TraceSystemSerializer()
    what = serializers.CharField(help_text="What happened, in a sentence.")
    url = serializers.SerializerMethodField(help_text="The step's page: message, case or list.")
    message = serializers.CharField(allow_null=True, help_text="The message's public id.")
    link = serializers.CharField(
        help_text="explicit, or inferred (an order tied to a forecast release by item, plant "
        "and time, and that release): `why` says why."
    )
    why = serializers.CharField(help_text="How the step is tied in, when there is more to say.")
    since_previous = LatencySerializer(allow_null=True, help_text="Null for the first step.")
    stop = QuarantineStopSerializer(allow_null=True, help_text="For a quarantine stop.")

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, step):
        request = self.context.get("request")
        return request.build_absolute_uri(step.url) if request is not None else step.url


class ThreadSerializer(serializers.Serializer):
    title = serializers.CharField(help_text="What was traced, in words.")
    query = serializers.DictField(help_text="The parameters as understood.")
    since = serializers.DateTimeField(
        allow_null=True, help_text="The start of the window (an item at a plant), else null."
    )
    steps = TraceStepSerializer(many=True)


def _parameter(name, description):
    return OpenApiParameter(name, OpenApiTypes.STR, description=description)


class TraceView(APIView):
    """GET /api/v1/trace/: one thread, its steps in time order."""

    @extend_schema(
        summary="Trace a demand change to its supply consequence",
        description=(
            "The thread across systems: the forecast release that changed demand, the "
            "purchase order changes that followed (tied explicitly when the order names its "
            "`demand_reference`, purchase_order contract v3, otherwise inferred by item, plant "
            "and time and marked `inferred`), acknowledgements, ship notices, receipts, supply "
            "exceptions and each quarantine stop (who fixed it, how long it held the flow), "
            "with the time since the step before. Give exactly one of: item and plant, po, "
            "forecast, exception."
        ),
        parameters=[
            _parameter("item", "Item public id or number (with plant)."),
            _parameter("plant", "Plant public id or code (with item)."),
            OpenApiParameter(
                "days",
                OpenApiTypes.INT,
                description=f"With item and plant: the window, in days back from now "
                f"(default {trace.DEFAULT_DAYS}, at most {trace.MAX_DAYS}).",
            ),
            _parameter("po", "Purchase order number, e.g. 4500020003."),
            _parameter("forecast", "Plan id and version joined by a colon, e.g. S&OP-2026-03:2."),
            OpenApiParameter(
                "exception",
                OpenApiTypes.INT,
                description="Supply exception id: its order's thread.",
            ),
        ],
        responses={
            200: ThreadSerializer,
            400: OpenApiResponse(description="No parameter, several, or one that is malformed."),
            404: OpenApiResponse(description="No such order, item, plant, forecast or exception."),
        },
    )
    def get(self, request):
        try:
            found = trace.thread(**trace.parse_query(request.query_params))
        except trace.BadTraceQuery as exc:
            errors = [{"parameter": exc.parameter, "detail": str(exc)}] if exc.parameter else None
            return ProblemResponse(status.HTTP_400_BAD_REQUEST, str(exc), errors=errors)
        except trace.TraceNotFound as exc:
            return ProblemResponse(status.HTTP_404_NOT_FOUND, str(exc))
        return Response(ThreadSerializer(found, context={"request": request}).data)

"""API v1 of webhook deliveries: a subscription's deliveries and their last answers, replay
and discard of dead letters (one by one or all of a subscription's), and the rotation of a
subscription's signing secret. Thin: events.delivery and events.webhooks do the work.

Stewards only, reads too: deliveries hold the answers of the consumers' endpoints, and a
secret signs what the hub says to them.
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.problems import ProblemResponse
from core.rest import BearerKeyScheme  # noqa: F401  (registers the schema extension)
from core.roles import STEWARD
from events import delivery, health, webhooks
from events.api import NOT_FOUND, find_subscription
from events.models import Delivery, Subscription

STEWARDS_ONLY = OpenApiResponse(description="Only data stewards may do this.")
# The longest overlap a rotation may give the previous secrets: a month.
MAX_OVERLAP_HOURS = 24 * 30


class DeliverySerializer(serializers.ModelSerializer):
    """A delivery of one event to one subscription, with the answer to its last attempt."""

    event_id = serializers.UUIDField(source="event.event_id", read_only=True)
    type = serializers.CharField(source="event.type", read_only=True)
    subject = serializers.CharField(source="event.subject", read_only=True)
    last_attempt = serializers.SerializerMethodField()

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event_id",
            "type",
            "subject",
            "partition_key",
            "position",
            "status",
            "attempts",
            "next_attempt_at",
            "created_at",
            "delivered_at",
            "dead_at",
            "last_attempt",
        ]

    def get_last_attempt(self, found) -> dict | None:
        """{"at", "status_code", "body" (its first characters), "error", "duration_ms"}."""
        if found.last_at is None:
            return None
        return {
            "at": serializers.DateTimeField().to_representation(found.last_at),
            "status_code": found.last_status_code,
            "body": found.last_body,
            "error": found.last_error,
            "duration_ms": found.last_duration_ms,
        }


class DeliveryQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=Delivery.Status.choices, required=False, help_text="Only deliveries in it."
    )


class ChosenDeliveriesSerializer(serializers.Serializer):
    """Which deliveries: by id, or all of a subscription's in a status."""

    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=10000,
        help_text="The deliveries' ids.",
    )
    subscription = serializers.IntegerField(
        required=False, help_text="Or all of this subscription's deliveries in `status`."
    )
    status = serializers.ChoiceField(
        choices=[Delivery.Status.DEAD, Delivery.Status.DISCARDED],
        default=Delivery.Status.DEAD,
        help_text="With `subscription`: the deliveries in this status (dead by default).",
    )

    def validate(self, attrs):
        if ("ids" in attrs) == ("subscription" in attrs):
            raise serializers.ValidationError(
                {"ids": "Give either `ids` (a list of delivery ids) or `subscription` (an id)."}
            )
        wanted = attrs.get("subscription")
        if wanted is not None and not Subscription.objects.filter(pk=wanted).exists():
            raise serializers.ValidationError(
                {"subscription": f"No subscription with id {wanted}."}
            )
        return attrs

    def deliveries(self):
        data = self.validated_data
        if "ids" in data:
            return Delivery.objects.filter(pk__in=data["ids"])
        return Delivery.objects.filter(subscription=data["subscription"], status=data["status"])


class CountSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="How many deliveries it applied to.")
    skipped = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Of the ids given, those it did not apply to (unknown, or in another status).",
    )


class RotateSerializer(serializers.Serializer):
    """The rotation's optional body; a field it does not know is refused (a typo would
    otherwise rotate with the default overlap unnoticed)."""

    overlap_hours = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_OVERLAP_HOURS,
        help_text="How long the previous secrets go on signing beside the new one "
        "(HUB_WEBHOOK_SECRET_OVERLAP_HOURS by default); 0 ends them now (a leaked secret).",
    )

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                f"Unknown field(s) {', '.join(unknown)}: a rotation takes only overlap_hours."
            )
        return attrs


class SecretSerializer(serializers.Serializer):
    subscription = serializers.IntegerField()
    secret = serializers.CharField(help_text="The new signing secret: shown this once only.")
    previous_expire_at = serializers.DateTimeField(
        allow_null=True, help_text="Until then the previous secrets sign beside the new one."
    )


class SubscriptionDeliveriesView(generics.ListAPIView):
    """A subscription's webhook deliveries, in event order."""

    serializer_class = DeliverySerializer
    read_roles = (STEWARD,)
    queryset = Delivery.objects.none()  # for the schema; get_queryset() decides

    @extend_schema(
        summary="A subscription's webhook deliveries",
        description="In event order, each with its status and the answer to its last attempt. "
        "`status=dead` lists the dead letters.",
        parameters=[DeliveryQuerySerializer],
        responses={
            200: DeliverySerializer(many=True),
            400: OpenApiResponse(description="An unknown status."),
            403: STEWARDS_ONLY,
            404: NOT_FOUND,
        },
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        subscription = find_subscription(self.request, str(self.kwargs["pk"]))
        query = DeliveryQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        deliveries = Delivery.objects.filter(subscription=subscription)
        if "status" in query.validated_data:
            deliveries = deliveries.filter(status=query.validated_data["status"])
        return health.with_last_attempt(deliveries).order_by("position", "pk")


class _ChosenDeliveriesView(APIView):
    read_roles = write_roles = (STEWARD,)
    applies_to = ()  # the statuses `act` applies to
    act = None  # delivery.replay or delivery.discard

    def post(self, request):
        body = ChosenDeliveriesSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        chosen = body.deliveries()
        skipped = []
        if "ids" in body.validated_data:  # bounded by the list's max_length
            applicable = chosen.filter(status__in=self.applies_to).values_list("pk", flat=True)
            skipped = sorted(set(body.validated_data["ids"]) - set(applicable))
        return Response({"count": self.act(chosen), "skipped": skipped})


CHOSEN = {
    "request": ChosenDeliveriesSerializer,
    "responses": {
        200: CountSerializer,
        400: OpenApiResponse(description="Neither ids nor a subscription, or both."),
        403: STEWARDS_ONLY,
    },
}


class ReplayView(_ChosenDeliveriesView):
    """Dead letters sent again."""

    applies_to = (Delivery.Status.DEAD, Delivery.Status.DISCARDED)
    act = staticmethod(delivery.replay)

    @extend_schema(
        summary="Replay dead deliveries",
        description="Sends dead (or discarded) deliveries again, in their partition keys' "
        "order, with a fresh dead-letter clock: `ids`, or all of a `subscription`'s in "
        "`status` (dead by default). Others are left as they are and named in `skipped`.",
        **CHOSEN,
    )
    def post(self, request):
        return super().post(request)


class DiscardView(_ChosenDeliveriesView):
    """Dead letters given up."""

    applies_to = (Delivery.Status.DEAD,)
    act = staticmethod(delivery.discard)

    @extend_schema(
        summary="Discard dead deliveries",
        description="Gives up dead deliveries for good (a replay can still send them): they "
        "stop holding back the later events of their partition keys. `ids`, or all of a "
        "`subscription`'s dead letters.",
        **CHOSEN,
    )
    def post(self, request):
        return super().post(request)


class RotateSecretView(APIView):
    """A push subscription's signing secret, renewed."""

    read_roles = write_roles = (STEWARD,)

    @extend_schema(
        summary="Rotate a subscription's signing secret",
        description="Makes a new signing secret and answers it, this once only. The previous "
        "secrets sign beside it until `previous_expire_at` "
        "(HUB_WEBHOOK_SECRET_OVERLAP_HOURS, or `overlap_hours`), so the receiver can change "
        "over.",
        request=RotateSerializer,
        responses={
            200: SecretSerializer,
            400: OpenApiResponse(description="A pull subscription has no secret."),
            403: STEWARDS_ONLY,
            404: NOT_FOUND,
        },
    )
    def post(self, request, pk):
        subscription = find_subscription(request, str(pk))
        if subscription.mode != Subscription.Mode.PUSH:
            return ProblemResponse(
                400,
                f"Subscription {subscription.name} is a pull subscription: only push "
                "subscriptions sign their webhooks.",
            )
        body = RotateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        text = webhooks.rotate_secret(
            subscription, overlap_hours=body.validated_data.get("overlap_hours")
        )
        previous = subscription.secrets.exclude(expires_at=None).order_by("-expires_at").first()
        answer = Response(
            {
                "subscription": subscription.pk,
                "secret": text,
                "previous_expire_at": previous.expires_at if previous else None,
            }
        )
        answer["Cache-Control"] = "no-store"
        return answer

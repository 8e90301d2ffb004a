"""API v1 of the events: the pull feed (/api/v1/events/), its cursor, and subscriptions
(/api/v1/events/subscriptions/). Thin: events.feed reads and commits, the model validates.

Reads: any role; an integration client sees only the subscriptions its own system consumes
(another's is not found), and reads their feed. Committing a cursor: stewards, and an
integration client for its own system's subscriptions. Managing subscriptions: stewards.
The events know no domain: an API client's system is compared by its code.
"""

from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from core.auth import api_client_model
from core.problems import ProblemResponse
from core.rest import BearerKeyScheme  # noqa: F401  (registers the schema extension)
from core.roles import INTEGRATION, STEWARD, VIEWER, has_role
from events import documents, feed, webhooks
from events.models import Subscription
from events.serializers import (
    CursorSerializer,
    FeedPageSerializer,
    FeedQuerySerializer,
    SubscriptionSerializer,
)

GONE = OpenApiResponse(
    description="The events after the cursor, or since the time, were purged by the "
    "retention; `oldest` is the first position still kept."
)
NOT_FOUND = OpenApiResponse(description="No such subscription (or not your system's).")


def visible_subscriptions(request):
    """Stewards and viewers see every subscription; an integration client those its own
    system consumes."""
    subscriptions = Subscription.objects.all()
    if has_role(request.user, STEWARD, VIEWER):
        return subscriptions
    if isinstance(request.auth, api_client_model()):
        return subscriptions.filter(consumer=request.auth.system.code)
    return subscriptions.none()


def find_subscription(request, key):
    """The visible subscription of an id or a name; NotFound otherwise."""
    subscriptions = visible_subscriptions(request)
    found = subscriptions.filter(pk=int(key)).first() if key.isdigit() else None
    found = found or subscriptions.filter(name=key).first()
    if found is None:
        raise NotFound(f"No subscription with id or name {key}.")
    return found


@extend_schema_view(
    list=extend_schema(summary="List subscriptions (an integration client: its own system's)"),
    create=extend_schema(summary="Create a subscription"),
    retrieve=extend_schema(summary="A subscription, with its cursor and lag"),
)
class SubscriptionViewSet(viewsets.ModelViewSet):
    """Subscriptions: what a consuming system hears of (types, facts) and how (push or pull)."""

    serializer_class = SubscriptionSerializer
    queryset = Subscription.objects.none()  # for the schema; get_queryset() decides

    def get_queryset(self):
        return feed.with_lag(visible_subscriptions(self.request))

    def perform_create(self, serializer):
        self._save_with_secret(serializer)

    def perform_update(self, serializer):
        self._save_with_secret(serializer)

    def _save_with_secret(self, serializer):
        """Save, and make a push subscription's first signing secret, answered once."""
        with transaction.atomic():
            subscription = serializer.save()
            subscription.new_secret = webhooks.first_secret(subscription)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(getattr(response, "data", None), dict) and response.data.get("secret"):
            response["Cache-Control"] = "no-store"
        return response


class FeedView(APIView):
    """The pull feed of a subscription."""

    @extend_schema(
        summary="Read a subscription's events after a cursor",
        description=(
            "The subscription's published events after `after` (by default its committed "
            "cursor), or from the first position at or after `since`, in position order, as "
            "CloudEvents 1.0 documents. Process them, then commit `next` "
            "(POST /api/v1/events/subscriptions/{id}/cursor/) and read on while `more`. "
            "A cursor or time before the retention is answered 410 Gone."
        ),
        parameters=[FeedQuerySerializer],
        responses={
            200: FeedPageSerializer,
            400: OpenApiResponse(description="A bad position, limit or time; it is named."),
            404: NOT_FOUND,
            410: GONE,
        },
    )
    def get(self, request):
        query = FeedQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        subscription = find_subscription(request, params["subscription"])
        try:
            page = feed.read(
                subscription,
                after=params.get("after"),
                since=params.get("since"),
                limit=params["limit"],
            )
        except feed.Purged as exc:
            return ProblemResponse(410, exc.message, oldest=exc.oldest)
        except feed.FeedError as exc:
            raise ValidationError({"after": exc.message}) from None
        return Response(
            {
                "subscription": subscription.pk,
                "after": page.after,
                "events": [documents.document_for(event, subscription) for event in page.events],
                "next": page.next,
                "more": page.more,
            }
        )


class CursorView(APIView):
    """A pull subscription's durable cursor."""

    write_roles = (STEWARD, INTEGRATION)

    @extend_schema(
        summary="Commit a subscription's cursor",
        description=(
            "Moves the cursor the feed reads from by default: forward once events are "
            "processed, or back to read them again. Not past the last published position."
        ),
        request=CursorSerializer,
        responses={
            200: SubscriptionSerializer,
            400: OpenApiResponse(description="A bad position, or a push subscription."),
            404: NOT_FOUND,
        },
    )
    def post(self, request, pk):
        subscription = find_subscription(request, str(pk))
        body = CursorSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            feed.commit(subscription, body.validated_data["position"])
        except feed.FeedError as exc:
            raise ValidationError({"position": exc.message}) from None
        return Response(SubscriptionSerializer(subscription, context={"request": request}).data)

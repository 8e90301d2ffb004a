"""API v1 routes of the events, mounted at /api/v1/: the pull feed, its cursor, and the
subscriptions; the webhook deliveries, their replay, and the rotation of a subscription's
signing secret (events.delivery_api)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from events import api, delivery_api

router = SimpleRouter()
router.register("events/subscriptions", api.SubscriptionViewSet, basename="subscription")

urlpatterns = [
    path("events/", api.FeedView.as_view(), name="event-feed"),
    path(
        "events/subscriptions/<int:pk>/cursor/",
        api.CursorView.as_view(),
        name="subscription-cursor",
    ),
    path(
        "events/subscriptions/<int:pk>/deliveries/",
        delivery_api.SubscriptionDeliveriesView.as_view(),
        name="subscription-deliveries",
    ),
    path(
        "events/subscriptions/<int:pk>/secret/rotate/",
        delivery_api.RotateSecretView.as_view(),
        name="subscription-secret-rotate",
    ),
    path(
        "events/deliveries/replay/",
        delivery_api.ReplayView.as_view(),
        name="delivery-replay",
    ),
    path(
        "events/deliveries/discard/",
        delivery_api.DiscardView.as_view(),
        name="delivery-discard",
    ),
    *router.urls,
]

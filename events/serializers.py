"""API v1 serializers of the events: subscriptions, the pull feed's query and page, the cursor.

Field lists are explicit. A subscription's validation is the model's (`full_clean()`, so the
API refuses what the admin refuses, with the same messages); `validate_url` is where the
webhook's own checks go.
"""

import copy
import datetime as dt

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from core.rest import validation_error_detail
from events import feed
from events.feed import DEFAULT_LIMIT, MAX_LIMIT
from events.models import Subscription


class SubscriptionSerializer(serializers.ModelSerializer):
    """A subscription; its cursor is moved through its cursor endpoint, not written here."""

    lag = serializers.SerializerMethodField(
        help_text="Positions published past the cursor (pull), matching or not; 0: caught up."
    )
    secret = serializers.SerializerMethodField(
        help_text="A push subscription's first signing secret, only in the answer that made it: "
        "keep it, it is never shown again (rotate to get a new one)."
    )

    class Meta:
        model = Subscription
        fields = [
            "id",
            "name",
            "consumer",
            "mode",
            "types",
            "facts",
            "url",
            "is_active",
            "cursor",
            "lag",
            "secret",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["cursor", "created_at", "updated_at"]
        extra_kwargs = {
            "consumer": {"help_text": "The consuming system's code, e.g. PLANNING."},
            # The model's constraint answers a taken name, with the model's message.
            "name": {"validators": []},
        }

    def get_lag(self, subscription) -> int | None:
        if subscription.mode != Subscription.Mode.PULL:
            return None
        # Listed and read subscriptions come with it (feed.with_lag); a saved one without.
        if hasattr(subscription, "lag"):
            return subscription.lag
        return feed.lag_of(subscription)

    def get_secret(self, subscription) -> str | None:
        return getattr(subscription, "new_secret", None)

    def validate(self, attrs):
        # The record as saving would leave it (a copy of the stored one for an update), so
        # the model's clean() and constraints judge the whole of it.
        instance = Subscription(**attrs) if self.instance is None else copy.copy(self.instance)
        for name, value in attrs.items():
            setattr(instance, name, value)
        try:
            instance.full_clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(validation_error_detail(exc)) from None
        return attrs


class FeedQuerySerializer(serializers.Serializer):
    """The feed's query parameters."""

    subscription = serializers.CharField(max_length=120, help_text="The subscription's id or name.")
    after = serializers.IntegerField(
        required=False,
        min_value=0,
        help_text="Read the events after this position; the subscription's committed cursor "
        "by default.",
    )
    since = serializers.DateTimeField(
        required=False,
        help_text="Replay from the first position at or after this ISO 8601 date-time, e.g. "
        "2026-03-02T08:00:00Z (instead of `after`).",
    )
    limit = serializers.IntegerField(
        required=False,
        default=DEFAULT_LIMIT,
        min_value=1,
        max_value=MAX_LIMIT,
        help_text=f"At most this many events (default {DEFAULT_LIMIT}, at most {MAX_LIMIT}).",
    )

    def validate_since(self, since):
        try:
            return since.astimezone(dt.UTC)
        except OverflowError:  # e.g. 0001-01-01T00:00+01:00 is before the year 1 in UTC
            raise serializers.ValidationError("Give a date-time after the year 1.") from None

    def validate(self, attrs):
        if "after" in attrs and "since" in attrs:
            raise serializers.ValidationError(
                {"since": "Give either `after` (a position) or `since` (a time), not both."}
            )
        return attrs


class FeedPageSerializer(serializers.Serializer):
    """A page of the feed."""

    subscription = serializers.IntegerField(help_text="The subscription's id.")
    after = serializers.IntegerField(help_text="The position the page follows.")
    events = serializers.ListField(
        child=serializers.DictField(),
        help_text="CloudEvents 1.0 JSON documents, in position order (`sequence`).",
    )
    next = serializers.IntegerField(
        help_text="Commit this cursor once the events are processed; read on from it."
    )
    more = serializers.BooleanField(help_text="Whether more events wait after `next`.")


class CursorSerializer(serializers.Serializer):
    """The cursor a consumer commits."""

    position = serializers.IntegerField(
        min_value=0, help_text="The `next` of the last page processed (lower: read again)."
    )

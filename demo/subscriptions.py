"""The demo's subscriber: the planning system hears of supply exceptions through a webhook to
the demo receiver (demo.receiver), as the seed's scenario has it ("published as a supply
exception event. The planning platform consumes the event")."""

from django.conf import settings

from demo.receiver import SUBSCRIPTION
from events import webhooks
from events.models import Subscription


def seed_subscriptions(created):
    """The planning system's push subscription to supply exceptions, to
    settings.HUB_DEMO_RECEIVER_URL (`make run` sets it and starts the receiver there); none
    when it is not set. A subscription a steward changed keeps its changes but the URL."""
    url = settings.HUB_DEMO_RECEIVER_URL
    if not url:
        return
    subscription, made = Subscription.objects.get_or_create(
        name=SUBSCRIPTION,
        defaults={
            "consumer": "PLANNING",
            "mode": Subscription.Mode.PUSH,
            "types": ["hub.supply_exception.*"],
            "url": url,
        },
    )
    if subscription.url != url:
        subscription.url = url
        subscription.save(update_fields=["url", "updated_at"])
    subscription.full_clean()
    webhooks.first_secret(subscription)  # the receiver reads it from the database
    created[Subscription] += int(made)

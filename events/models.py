"""The outbox: every event the hub publishes, as a CloudEvents 1.0 document (`events.outbox`).

An event row is written in the transaction of the change that causes it, so a crash loses
none and a rollback invents none. Its `position` (the feed's cursor) is given after commit,
by one publisher at a time, in the order events become visible: an event of a long
transaction that commits late gets a later position, so a reader that has passed a position
never misses an event by it.
"""

import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from events import addresses

# The facts an event may carry and a subscription may filter on.
FACTS = ("system", "plant", "supplier", "item")


class Event(models.Model):
    """One CloudEvents 1.0 event. The domain is the emitter's: the events app knows none."""

    # The order of writing (within a transaction, and between transactions that change one
    # record, which lock it); the CloudEvents id is `event_id`.
    number = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    # The order of publication (the feed's cursor); null until published.
    position = models.BigIntegerField(null=True, blank=True, unique=True)
    type = models.CharField(max_length=120, db_index=True)
    source = models.CharField(max_length=200)
    subject = models.CharField(max_length=100, db_index=True, help_text="The canonical id.")
    time = models.DateTimeField(db_index=True)
    # Events of one key are delivered in order (the order, item or record they concern).
    partition_key = models.CharField(max_length=100, db_index=True)
    data = models.JSONField(default=dict)
    # What subscriptions filter on, as the emitter names it: {"system": "ERP_CLOUD",
    # "plant": "LOC-000001", "supplier": "SUP-000003", "item": "ITM-000012"}.
    facts = models.JSONField(default=dict, blank=True)
    # The W3C trace context the emitter passed (its `traceparent`), sent as the CloudEvents
    # distributed-tracing extension; stored and passed as given, never read here.
    traceparent = models.CharField(max_length=55, null=True, blank=True)

    class Meta:
        ordering = ["position"]
        indexes = [
            # The publisher's queue: the events not yet published.
            models.Index(
                fields=["number"],
                condition=models.Q(position__isnull=True),
                name="events_unpublished",
            ),
        ]

    def __str__(self):
        return f"{self.type} {self.subject} ({self.event_id})"


class PublishedPosition(models.Model):
    """The last position given (one row): the publisher locks it, so one publishes at a time."""

    last = models.BigIntegerField(default=0)

    def __str__(self):
        return f"published up to {self.last}"


class Subscription(models.Model):
    """What a consuming system wants to hear of, and how it takes it: pushed to its webhook,
    or pulled from the feed from the cursor it commits."""

    class Mode(models.TextChoices):
        PUSH = "push", "Webhook push"
        PULL = "pull", "Pull feed"

    name = models.CharField(max_length=120, unique=True)
    # The consuming system's code (a SourceSystem of mdm, named, not linked: the events know
    # no domain); its own codes are added to each event's data (events.documents.document_for).
    consumer = models.CharField(max_length=40, db_index=True)
    mode = models.CharField(max_length=4, choices=Mode.choices)
    types = models.JSONField(
        default=list,
        blank=True,
        help_text='Event types, e.g. ["hub.supply_exception.raised"] or '
        '["hub.supply_exception.*"]; empty: every type.',
    )
    facts = models.JSONField(
        default=dict,
        blank=True,
        help_text='Only events whose facts match, e.g. {"plant": ["LOC-000001"], "supplier": '
        '["SUP-000003"]}: each fact named must be one of its values; empty: every event.',
    )
    url = models.URLField(max_length=500, blank=True, help_text="Push: the webhook's HTTPS URL.")
    is_active = models.BooleanField(default=True)
    # Pull: the last position the consumer committed (0: from the start of retention).
    cursor = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        """Types as text ("prefix.*" for every type under a prefix), facts as {known fact:
        [values]}, and a URL for a push subscription: what `matches` and the delivery rely
        on, checked for the admin and the API alike."""
        errors = {}
        if not isinstance(self.types, list) or not all(
            isinstance(wanted, str) and wanted.strip() and "*" not in wanted[:-1]
            for wanted in self.types
        ):
            errors["types"] = (
                'Give a list of event types, e.g. ["hub.supply_exception.raised"], or a '
                'prefix ending in "*", e.g. ["hub.supply_exception.*"]; "*" only at the end.'
            )
        if not isinstance(self.facts, dict):
            errors["facts"] = 'Give an object of fact names to lists, e.g. {"plant": ["LOC-1"]}.'
        else:
            unknown = sorted(set(self.facts) - set(FACTS))
            if unknown:
                errors["facts"] = (
                    f"Unknown fact {', '.join(unknown)}; the facts are {', '.join(FACTS)}."
                )
            elif not all(
                isinstance(values, list)
                and values
                and all(isinstance(value, str) and value.strip() for value in values)
                for values in self.facts.values()
            ):
                errors["facts"] = (
                    'Each fact takes a non-empty list of values as text, e.g. {"supplier": '
                    '["SUP-000003"]}.'
                )
        if self.mode == self.Mode.PUSH and not self.url:
            errors["url"] = "A push subscription needs the webhook's URL."
        elif self.mode == self.Mode.PUSH:
            try:
                addresses.check_url(self.url)
            except ValidationError as exc:
                errors["url"] = exc.messages
        if errors:
            raise ValidationError(errors)

    def matches(self, event):
        """Whether `event` is one this subscription wants (its types and facts)."""
        if self.types and not any(
            event.type == wanted or (wanted.endswith("*") and event.type.startswith(wanted[:-1]))
            for wanted in self.types
        ):
            return False
        return all(event.facts.get(name) in values for name, values in self.facts.items())


class WebhookSecret(models.Model):
    """A key that signs a push subscription's webhooks (Standard Webhooks). The symmetric
    scheme needs the key itself to sign, so it is stored encrypted, never hashed
    (events.webhooks); its holder sees it once, when it is made."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="secrets")
    # "whsec_..." encrypted with a key derived from settings.SECRET_KEY (Fernet token).
    encrypted = models.TextField(editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    # Set when a newer secret replaces it: both sign until then (the rotation's overlap).
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"secret of {self.subscription} made {self.created_at:%Y-%m-%d %H:%M}"


class Breaker(models.Model):
    """The circuit breaker of a push subscription's endpoint: after repeated failures the
    endpoint is left alone for a cool-off, then one delivery probes it (events.delivery)."""

    class State(models.TextChoices):
        CLOSED = "closed", "Closed (delivering)"
        OPEN = "open", "Open (waiting for the cool-off)"
        HALF_OPEN = "half_open", "Half-open (one probe under way)"

    subscription = models.OneToOneField(
        Subscription, on_delete=models.CASCADE, related_name="breaker"
    )
    state = models.CharField(max_length=9, choices=State.choices, default=State.CLOSED)
    # Failed attempts in a row, whichever deliveries they were.
    failures = models.PositiveIntegerField(default=0)
    opened_at = models.DateTimeField(null=True, blank=True)
    # Open: when a probe may go. Half-open: when the probe under way counts as lost.
    probe_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.subscription}: {self.get_state_display()}"


class Delivery(models.Model):
    """One event to push to one push subscription's webhook, until it is delivered or dead.

    Deliveries of one subscription and partition key go in the order of their events'
    positions: one is attempted only when no earlier one of the same key is undelivered
    (pending, retrying or dead: a dead letter holds the rest of its key back until it is
    replayed or discarded)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RETRYING = "retrying", "Retrying"
        DELIVERED = "delivered", "Delivered"
        DEAD = "dead", "Dead letter"
        DISCARDED = "discarded", "Discarded"

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    # Its event is kept past the retention while it is owed (events.retention).
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    # The event's, copied so the order check and the beat's query need no join.
    partition_key = models.CharField(max_length=100)
    position = models.BigIntegerField()
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When the next attempt is due (retrying: after the backoff).
    next_attempt_at = models.DateTimeField()
    # When its dead-letter clock started: publication, or its last replay.
    since = models.DateTimeField()
    # A worker's claim (attempt under way) until then; a claim past it was lost with its worker.
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    dead_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event"], name="delivery_once"),
        ]
        indexes = [
            # The order check: an earlier undelivered delivery of the same key.
            models.Index(
                fields=["subscription", "partition_key", "position"], name="delivery_order"
            ),
            # The beat's query: the deliveries not yet delivered, by when they are due.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status__in=["pending", "retrying"]),
                name="delivery_due",
            ),
            # A subscription's deliveries that may go, in position order (events.delivery
            # claims a batch from the front).
            models.Index(
                fields=["subscription", "position"],
                condition=models.Q(status__in=["pending", "retrying"]),
                name="delivery_live",
            ),
            # The few that can hold a key's later deliveries back: dead letters, retries,
            # attempts under way (events.delivery._may_go looks for an earlier one).
            models.Index(
                fields=["subscription", "partition_key", "position"],
                condition=models.Q(status__in=["dead", "retrying"])
                | models.Q(claimed_until__isnull=False),
                name="delivery_holding",
            ),
            # A subscription's deliveries by status (the API's and the screens' lists).
            models.Index(fields=["subscription", "status", "position"], name="delivery_status"),
            # A replay's progress: the deliveries replayed at one time.
            models.Index(fields=["subscription", "since"], name="delivery_since"),
        ]

    def __str__(self):
        return f"{self.event} to {self.subscription} ({self.status})"


class DeliveryAttempt(models.Model):
    """One try at pushing a delivery, and the endpoint's answer (or why there was none)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="tries")
    at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    # The answer's first characters (events.delivery.EXCERPT_CHARS), for a steward to read.
    body = models.TextField(blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [
            # A delivery's last answer (the screens, the deliveries API).
            models.Index(fields=["delivery", "-at"], name="attempt_last"),
            # The failure rate of the last 24 hours.
            models.Index(fields=["at"], name="attempt_time"),
        ]

    def __str__(self):
        return f"{self.delivery_id} at {self.at}: {self.status_code or self.error}"

"""What makes a webhook safe to send: its URL, and its signature (Standard Webhooks).

    create_secret(subscription)           a first signing secret; its text, shown once
    rotate_secret(subscription)           a new secret, the old ones signing beside it a while
    signature_headers(subscription, ...)  webhook-id, webhook-timestamp, webhook-signature

URLs: events.addresses.check_url, run when a subscription is saved and before each delivery.

Secrets: "whsec_" and the base64 of 32 random bytes. The scheme is symmetric (HMAC-SHA256):
the hub needs the secret itself to sign, so it is stored encrypted (Fernet, with a key derived
from settings.SECRET_KEY; settings.SECRET_KEY_FALLBACKS still decrypt after that key is
changed), shown once when made, never logged. After a rotation every unexpired secret signs:
the signature header carries one signature per secret, so a receiver with either verifies.
"""

import base64
import secrets
from datetime import timedelta

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from events.models import WebhookSecret

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
# --- secrets ---------------------------------------------------------------------------------


def _key(secret_key):
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"hub.events.webhook-secrets"
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def _fernet():
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([_key(key) for key in keys])


def _new_secret_text():
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def create_secret(subscription, now=None):
    """A new signing secret for `subscription`; returns its text, the only time it is shown."""
    text = _new_secret_text()
    WebhookSecret.objects.create(
        subscription=subscription,
        encrypted=_fernet().encrypt(text.encode()).decode(),
        created_at=now or timezone.now(),
    )
    return text


def first_secret(subscription):
    """The text of a first signing secret for a push subscription that has none (shown once:
    the API's answer that saved it, the admin's message), else None."""
    if subscription.mode != subscription.Mode.PUSH:
        return None
    if WebhookSecret.objects.filter(subscription=subscription).exists():
        return None
    return create_secret(subscription)


def rotate_secret(subscription, now=None, overlap_hours=None):
    """A new secret for `subscription`, returned as text (shown once). The secrets it had
    keep signing beside it for `overlap_hours` (settings.HUB_WEBHOOK_SECRET_OVERLAP_HOURS by
    default; 0 ends them now, for a secret that leaked), so its receiver can change over;
    those expired already are deleted."""
    now = now or timezone.now()
    if overlap_hours is None:
        overlap_hours = settings.HUB_WEBHOOK_SECRET_OVERLAP_HOURS
    overlap_end = now + timedelta(hours=overlap_hours)
    with transaction.atomic():
        held = WebhookSecret.objects.select_for_update().filter(subscription=subscription)
        held.filter(expires_at__lte=now).delete()
        held.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=overlap_end)).update(
            expires_at=overlap_end
        )
        return create_secret(subscription, now=now)


def signing_secrets(subscription, now=None):
    """The texts of `subscription`'s secrets that sign at `now`, the newest first."""
    now = now or timezone.now()
    held = WebhookSecret.objects.filter(subscription=subscription).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )
    fernet = _fernet()
    return [fernet.decrypt(secret.encrypted.encode()).decode() for secret in held]


def signature_headers(subscription, message_id, body, now=None, texts=None):
    """The Standard Webhooks headers for `body` (bytes): webhook-id (the event's id, the same
    on every attempt, so a receiver recognises a duplicate), webhook-timestamp, and
    webhook-signature with one "v1,..." signature per signing secret. A ValueError when the
    subscription has no secret that signs. `now` chooses the secrets (a test's clock); the
    timestamp is always the real time, which the receiver checks against its own clock.
    `texts`, the secrets read already, spares the reading (a batch signs many with one)."""
    if texts is None:
        texts = signing_secrets(subscription, now)
    if not texts:
        raise ValueError("The subscription has no signing secret: rotate its secret to make one.")
    signed_at = timezone.now()
    signatures = [Webhook(text).sign(str(message_id), signed_at, body) for text in texts]
    return {
        "webhook-id": str(message_id),
        "webhook-timestamp": str(int(signed_at.timestamp())),
        "webhook-signature": " ".join(signatures),
    }

"""Credentials of the reconciliation service (W3C Reconciliation Service API v0.2)."""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


class ReconciliationKey(models.Model):
    """A revocable credential that lets a reconciliation client (OpenRefine) use the service.
    OpenRefine cannot send headers, so the key is part of the service URL; only its hash is
    stored."""

    KEY_PREFIX = "rk"
    # How often last_used_at is written at most: a batch of calls costs one UPDATE a minute.
    TOUCH_SECONDS = 60

    name = models.CharField(
        max_length=100, unique=True, help_text="Who or what uses it, e.g. procurement-openrefine."
    )
    key_prefix = models.CharField(
        max_length=12, editable=False, help_text="The key's first characters, to tell keys apart."
    )
    # Unique: the service finds a key by its hash, one indexed lookup per call.
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    is_active = models.BooleanField(default=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.key_prefix}…)"

    @staticmethod
    def hash_key(key):
        # Keys are 256-bit random strings, so a fast hash is enough: nothing to brute-force.
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def new_key(cls):
        """A fresh key: URL-safe (letters, digits, - and _), so it can stand in a path."""
        return f"{cls.KEY_PREFIX}_{secrets.token_urlsafe(32)}"

    def touch(self):
        now = timezone.now()
        if (
            self.last_used_at is None
            or (now - self.last_used_at).total_seconds() > self.TOUCH_SECONDS
        ):
            ReconciliationKey.objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now

"""Credentials of the reconciliation service (W3C Reconciliation Service API v0.2)."""

import secrets

from django.conf import settings
from django.db import models

from mdm.models import SecretKeyHolder


class ReconciliationKey(SecretKeyHolder):
    """A revocable credential that lets a reconciliation client (OpenRefine) use the service.
    OpenRefine cannot send headers, so the key is part of the service URL; only its hash is
    stored."""

    KEY_PREFIX = "rk"

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
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.key_prefix}…)"

    @classmethod
    def new_key(cls):
        """A fresh key: URL-safe (letters, digits, - and _), so it can stand in a path."""
        return f"{cls.KEY_PREFIX}_{secrets.token_urlsafe(32)}"

"""Change requests with four-eyes approval: the policies that say which changes need a second
person, and the requests holding such a change until one approves it.

The app knows no domain: a request holds the exact difference of each record it touches as
(model label, primary key, action, the fields' values before and after), written and read as
JSON, and the apps whose records are governed say so in `changes.registry` (what a change of
theirs is called, which system it concerns, how it is applied).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApprovalPolicy(models.Model):
    """Changes of one kind of record that need approval: every change, or only those touching
    some fields, or only the records of some systems."""

    kind = models.CharField(
        max_length=60, help_text="The kind of record, e.g. Cross-references (xref.crossreference)."
    )
    fields = models.JSONField(
        default=list,
        blank=True,
        help_text="Fields whose change needs approval (names); none: any change, creation and "
        "deletion included.",
    )
    systems = models.JSONField(
        default=list,
        blank=True,
        help_text="Source systems (codes) whose records it covers; none: every system's. Only "
        "for kinds that belong to a system.",
    )
    active = models.BooleanField(default=True)
    note = models.CharField(max_length=200, blank=True, help_text="Why the policy exists.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "pk"]
        verbose_name_plural = "approval policies"

    def __str__(self):
        return f"Approval of {self.kind}"


class ChangeRequest(models.Model):
    """A change that waits for approval (or was applied as an emergency and waits for it
    after the fact), with who asked, why, and how it ended."""

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for approval"
        APPLIED = "applied", "Approved and applied"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    kind = models.CharField(max_length=60, help_text="The kind of record, or 'imports.run'.")
    title = models.CharField(max_length=300, help_text="What changes, in words.")
    systems = models.JSONField(
        default=list, blank=True, help_text="Codes of the systems whose records it changes."
    )
    reason = models.TextField()
    source = models.CharField(max_length=10, help_text="Where it was asked: admin, api, import.")
    batch = models.CharField(
        max_length=60, blank=True, help_text="A batch applied as a whole, e.g. 'imports.run'."
    )
    batch_reference = models.CharField(max_length=64, blank=True, help_text="E.g. the run's id.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    rebased_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True, help_text="The reviewer's comment.")
    # An emergency change is applied at once by someone allowed to, and approved after.
    emergency_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    emergency_at = models.DateTimeField(null=True, blank=True)
    emergency_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        indexes = [models.Index(fields=["status", "requested_at"], name="change_request_status")]
        permissions = [
            ("approve_changerequest", "Can approve or reject another person's change request"),
            ("emergency_changerequest", "Can apply a change at once, to be approved after"),
        ]

    def __str__(self):
        return f"{self.number}: {self.title}"

    @property
    def number(self):
        return f"CR-{self.pk:06d}" if self.pk else "CR-(new)"

    @property
    def is_emergency(self):
        return self.emergency_at is not None

    @property
    def awaits_approval(self):
        """Open, or applied as an emergency and not yet approved after the fact."""
        return self.status == self.Status.OPEN or (
            self.is_emergency and self.status == self.Status.APPLIED and self.decided_at is None
        )


class ChangeItem(models.Model):
    """One record's difference in a request: for an update, the changed fields' values before
    and after; for a creation, every value after; for a deletion, every value before."""

    class Action(models.TextChoices):
        CREATE = "create", "Create"
        UPDATE = "update", "Change"
        DELETE = "delete", "Delete"

    request = models.ForeignKey(ChangeRequest, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    model = models.CharField(max_length=60, help_text="Model label, e.g. xref.crossreference.")
    object_id = models.CharField(max_length=64, blank=True, help_text="Empty for a creation.")
    action = models.CharField(max_length=10, choices=Action.choices)
    label = models.CharField(max_length=300, help_text="The record in words, when asked.")
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["request", "position"]
        constraints = [
            models.UniqueConstraint(fields=["request", "position"], name="change_item_position")
        ]

    def __str__(self):
        return f"{self.get_action_display()} {self.label}"

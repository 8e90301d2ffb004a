"""The three roles, as Django groups: steward, viewer, integration; and the permission groups
"override", "approver" and "emergency".

The groups are created by a migration; their model permissions (which the admin checks) are
kept in step after every migrate, so models added by later apps are covered too.

Stewards get every permission of the managed apps except the administrators' records
(ADMIN_ONLY_MODELS; of API clients they may see and revoke) and the ones in STEWARD_EXCLUDED:
releasing a quarantined message by override (quarantine.release_by_override) is a separate
decision. It is given by the "override" group, which holds only that permission; add a
steward to it to let them release by override. Likewise approving another person's change
request (changes.approve_changerequest) is given by the "approver" group, and applying a
change before approval (changes.emergency_changerequest) by the "emergency" group. None of
these groups is a role (a user's role is still steward, viewer or integration).
"""

from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db.models import Q
from django.db.models.signals import post_migrate
from django.dispatch import receiver

STEWARD = "steward"
VIEWER = "viewer"
INTEGRATION = "integration"
ROLES = (STEWARD, VIEWER, INTEGRATION)
# The groups holding the permissions stewards do not get by default: group -> codenames.
OVERRIDE, APPROVER, EMERGENCY = "override", "approver", "emergency"
PERMISSION_GROUPS = {
    OVERRIDE: ("release_by_override",),
    APPROVER: ("approve_changerequest",),
    EMERGENCY: ("emergency_changerequest",),
}
STEWARD_EXCLUDED = tuple(codename for names in PERMISSION_GROUPS.values() for codename in names)

# Apps whose records stewards maintain in the admin.
MANAGED_APPS = (
    "events",
    "changes",
    "mdm",
    "xref",
    "validation",
    "quarantine",
    "edi",
    "imports",
    "reconcile",
)
# Records that only administrators touch, even for stewards.
ADMIN_ONLY_MODELS = ("apiclient", "idsequence", "approvalpolicy")
# What stewards may do with those all the same: see the API clients and revoke a key (the
# admin lets them change nothing else, and only an administrator turns a revoked key back on;
# keys are created on the command line, users and groups only by an administrator), and the
# approval policies they may read.
STEWARD_ADMIN_ONLY_PERMISSIONS = ("view_apiclient", "change_apiclient", "view_approvalpolicy")


def user_roles(user):
    if not user or not user.is_authenticated:
        return set()
    cached = getattr(user, "_hub_roles", None)
    if cached is None:
        cached = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        if user.is_superuser:
            cached.add(STEWARD)
        user._hub_roles = cached
    return cached


def has_role(user, *roles):
    return bool(user_roles(user) & set(roles))


def sync_role_permissions():
    managed = Permission.objects.filter(content_type__app_label__in=MANAGED_APPS)
    perms = managed.exclude(content_type__model__in=ADMIN_ONLY_MODELS)
    groups = {name: Group.objects.get_or_create(name=name)[0] for name in ROLES}
    groups[STEWARD].permissions.set(
        managed.filter(
            ~Q(content_type__model__in=ADMIN_ONLY_MODELS)
            | Q(codename__in=STEWARD_ADMIN_ONLY_PERMISSIONS)
        ).exclude(codename__in=STEWARD_EXCLUDED)
    )
    for name, codenames in PERMISSION_GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(perms.filter(codename__in=codenames))
    groups[VIEWER].permissions.set(perms.filter(codename__startswith="view_"))
    groups[INTEGRATION].permissions.set(perms.filter(codename__startswith="view_"))


@receiver(post_migrate)
def _sync_after_migrate(sender, using="default", **kwargs):
    # Syncing after every managed app covers apps added later. The app's permissions are made
    # first (auth's own receiver does the same, idempotently): whether auth's receiver runs
    # before this one depends on which module first imported this one.
    if sender.name in MANAGED_APPS:
        create_permissions(sender, verbosity=0, using=using)
        sync_role_permissions()

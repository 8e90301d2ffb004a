"""The three roles, as Django groups: steward, viewer, integration; and the "override" group.

The groups are created by a migration; their model permissions (which the admin checks) are
kept in step after every migrate, so models added by later apps are covered too.

Stewards get every permission of the managed apps except the administrators' records
(ADMIN_ONLY_MODELS; of API clients they may see and revoke) and the ones in STEWARD_EXCLUDED:
releasing a quarantined message by override (quarantine.release_by_override) is a separate
decision. It is given by the "override" group, which holds only those permissions; add a
steward to it to let them release by override. "override" is not a role (a user's role is
still steward, viewer or integration).
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
# The group holding the permissions stewards do not get by default.
OVERRIDE = "override"
STEWARD_EXCLUDED = ("release_by_override",)

# Apps whose records stewards maintain in the admin.
MANAGED_APPS = ("events", "mdm", "xref", "validation", "quarantine", "edi", "imports", "reconcile")
# Records that only administrators touch, even for stewards.
ADMIN_ONLY_MODELS = ("apiclient", "idsequence")
# What stewards may do with those all the same: see the API clients and revoke a key (the
# admin lets them change nothing else, and only an administrator turns a revoked key back on;
# keys are created on the command line, users and groups only by an administrator).
STEWARD_ADMIN_ONLY_PERMISSIONS = ("view_apiclient", "change_apiclient")


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
    override, _ = Group.objects.get_or_create(name=OVERRIDE)
    override.permissions.set(perms.filter(codename__in=STEWARD_EXCLUDED))
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

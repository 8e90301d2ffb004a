"""The demo logins `make run` prints: a steward, and an approver (a second steward who may
approve the first one's change requests)."""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from core.roles import APPROVER, STEWARD


@transaction.atomic
def reset_demo_steward(username="steward", approver=False):
    """Create (or reset) the demo steward login and return its new password; an approver is
    also in the approver group."""
    last_name = "Approver" if approver else "Steward"
    user, _ = get_user_model().objects.get_or_create(
        username=username, defaults={"first_name": "Demo", "last_name": last_name}
    )
    password = secrets.token_urlsafe(12)
    user.set_password(password)
    user.is_staff = True
    user.is_active = True
    user.save()
    user.groups.add(Group.objects.get(name=STEWARD))
    if approver:
        user.groups.add(Group.objects.get(name=APPROVER))
    return password

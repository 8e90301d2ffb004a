"""The demo steward login `make run` prints."""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from core.roles import STEWARD


@transaction.atomic
def reset_demo_steward(username="steward"):
    """Create (or reset) the demo steward login and return its new password."""
    user, _ = get_user_model().objects.get_or_create(
        username=username, defaults={"first_name": "Demo", "last_name": "Steward"}
    )
    password = secrets.token_urlsafe(12)
    user.set_password(password)
    user.is_staff = True
    user.is_active = True
    user.save()
    user.groups.add(Group.objects.get(name=STEWARD))
    return password

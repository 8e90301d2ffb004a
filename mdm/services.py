"""Account services: API clients."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction

from core.roles import INTEGRATION, ROLES
from mdm.models import ApiClient, SourceSystem


@transaction.atomic
def create_api_client(system_code, name, role=INTEGRATION):
    """Create a named API client for a source system; return it with its key, which is shown
    only this once."""
    if role not in ROLES:
        raise ValidationError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    system = SourceSystem.objects.filter(code=system_code).first()
    if system is None:
        known = ", ".join(SourceSystem.objects.values_list("code", flat=True)) or "none yet"
        raise ValidationError(f"No source system {system_code!r} (known: {known}).")
    if ApiClient.objects.filter(name=name).exists():
        raise ValidationError(f"An API client named {name!r} already exists.")
    user = get_user_model().objects.create_user(username=f"api:{name}"[:150])
    user.set_unusable_password()
    user.save(update_fields=["password"])
    user.groups.add(Group.objects.get(name=role))
    prefix, key = ApiClient.new_key()
    client = ApiClient.objects.create(
        name=name, system=system, user=user, key_prefix=prefix, key_hash=ApiClient.hash_key(key)
    )
    return client, key

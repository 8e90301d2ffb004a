"""API authentication (Bearer keys of API clients) and role checks, enforced server-side."""

import functools
import hmac

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from rest_framework import authentication, exceptions, permissions

from core.db import fetch_prepared
from core.lockout import client_address, key_lockout_wait, record_wrong_key
from core.roles import INTEGRATION, ROLES, STEWARD, VIEWER, has_role


class WrongKey(exceptions.AuthenticationFailed):
    """A key that is no key of ours: it counts towards the address's lockout (core.lockout)."""


class KeysLockedOut(exceptions.Throttled):
    """429 with Retry-After: too many wrong keys came from the caller's address."""

    default_detail = (
        "Too many requests with a wrong API key came from your address, so every key sent from "
        "it is refused for now, a valid one too. Check the key your client sends."
    )
    extra_detail_singular = "Try again in {wait} second."
    extra_detail_plural = "Try again in {wait} seconds."


class BearerKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer mdh_<prefix>_<secret>`; the key is looked up by prefix and its
    hash compared, so the key itself is never stored. Wrong keys lock out the address that
    sends them (core.lockout)."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        address = client_address(request)
        wait = key_lockout_wait(address)
        if wait:
            raise KeysLockedOut(wait)
        try:
            return self._authenticate_key(header)
        except WrongKey:
            wait = record_wrong_key(address)
            if wait:
                raise KeysLockedOut(wait) from None
            raise

    def _authenticate_key(self, header):
        if len(header) != 2:
            raise WrongKey("Give the key as 'Authorization: Bearer <key>'.")
        try:
            key = header[1].decode()
        except UnicodeError:
            raise WrongKey("The API key is not valid.") from None
        # The secret is token_urlsafe and may itself contain "_": split off the two head parts.
        parts = key.split("_", 2)
        client_model = api_client_model()
        if len(parts) != 3 or parts[0] != client_model.KEY_PREFIX:
            raise WrongKey("The API key is not valid.")
        client = find_client(parts[1])
        if client is None or not _same(client.key_hash, client_model.hash_key(key)):
            raise WrongKey("The API key is not valid.")
        if not client.is_active or not client.user.is_active:
            raise exceptions.AuthenticationFailed("This API key has been revoked.")
        client.touch()
        return client.user, client

    def authenticate_header(self, request):
        return self.keyword


def _same(a, b):
    return hmac.compare_digest(a, b)


def api_client_model():
    """The model of API clients (HUB_API_CLIENT_MODEL, as Django's AUTH_USER_MODEL names the
    user model): each has a hashed key, a user and the source system it speaks for."""
    return apps.get_model(settings.HUB_API_CLIENT_MODEL)


def _models():
    client = api_client_model()
    return client, get_user_model(), client._meta.get_field("system").related_model


@functools.cache
def _client_query():
    """One statement for the key's client, its user, its system and its role. Written out
    once: the ORM spends longer compiling this query than the database spends running it, and
    every call of the hot path (resolution) authenticates."""
    client, user, system = (model._meta for model in _models())
    columns = ", ".join(
        f'{alias}."{field.column}"'
        for alias, meta in (("c", client), ("u", user), ("s", system))
        for field in meta.concrete_fields
    )
    roles = ", ".join(["%s"] * len(ROLES))
    return (
        f"SELECT {columns}, (SELECT g.name FROM auth_group g JOIN {user.db_table}_groups ug "
        f"ON ug.group_id = g.id WHERE ug.user_id = u.id AND g.name IN ({roles}) "
        "ORDER BY g.name LIMIT 1) "
        f"FROM {client.db_table} c JOIN {user.db_table} u ON u.id = c.user_id "
        f"JOIN {system.db_table} s ON s.id = c.system_id WHERE c.key_prefix = %s"
    )


@functools.cache
def _converters(model, vendor):
    """Per concrete field of `model`: (column, the converters that turn a raw column value
    into what the ORM would give: time zones, booleans on SQLite, JSON), or None when there
    are none. Worked out once: the hot path reads thirty columns per call."""
    plan = []
    for field in model._meta.concrete_fields:
        column = field.get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(column)
        converters += field.get_db_converters(connection)
        plan.append((column, converters) if converters else None)
    return plan


def _from_db(model, values):
    """Raw column values of `model`'s concrete fields as the ORM would give them."""
    converted = []
    for value, step in zip(values, _converters(model, connection.vendor), strict=True):
        if step is not None:
            column, converters = step
            for convert in converters:
                value = convert(value, column, connection)
        converted.append(value)
    return converted


def find_client(key_prefix):
    """The API client of a key prefix with its user, system and role loaded, or None."""
    rows = fetch_prepared(_client_query(), [*ROLES, key_prefix])
    if not rows:
        return None
    row = rows[0]
    instances, start = [], 0
    for model in _models():
        fields = model._meta.concrete_fields
        values = _from_db(model, row[start : start + len(fields)])
        names = [field.attname for field in fields]
        instances.append(model.from_db(connection.alias, names, values))
        start += len(fields)
    client, user, system = instances
    client.user, client.system = user, system
    user._hub_roles = {row[-1]} if row[-1] else set()
    return client


class RolePermission(permissions.BasePermission):
    """Reads need any role; writes need the steward role. Views may name other roles for
    writes (e.g. integration clients submitting messages) in `write_roles`."""

    message = "Your role does not allow this."

    def has_permission(self, request, view):
        user = request.user
        if not user or not user.is_authenticated:
            return False
        if request.method in permissions.SAFE_METHODS:
            roles = getattr(view, "read_roles", (STEWARD, VIEWER, INTEGRATION))
        else:
            roles = getattr(view, "write_roles", (STEWARD,))
        return has_role(user, *roles)

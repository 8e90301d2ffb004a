"""API authentication (Bearer keys of API clients) and role checks, enforced server-side."""

from django.contrib.auth.models import Group
from django.db.models import OuterRef, Subquery
from rest_framework import authentication, exceptions, permissions

from mdm.models import ApiClient
from mdm.roles import INTEGRATION, ROLES, STEWARD, VIEWER, has_role


class BearerKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer mdh_<prefix>_<secret>`; the key is looked up by prefix and its
    hash compared, so the key itself is never stored."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Give the key as 'Authorization: Bearer <key>'.")
        try:
            key = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("The API key is not valid.") from None
        # The secret is token_urlsafe and may itself contain "_": split off the two head parts.
        parts = key.split("_", 2)
        if len(parts) != 3 or parts[0] != ApiClient.KEY_PREFIX:
            raise exceptions.AuthenticationFailed("The API key is not valid.")
        # One query for the key, its user, its system and its role: the hot path (resolution)
        # is called many times a second per client.
        role = Group.objects.filter(user=OuterRef("user"), name__in=ROLES).values("name")[:1]
        client = (
            ApiClient.objects.select_related("user", "system")
            .annotate(role=Subquery(role))
            .filter(key_prefix=parts[1])
            .first()
        )
        if client is None or not _same(client.key_hash, ApiClient.hash_key(key)):
            raise exceptions.AuthenticationFailed("The API key is not valid.")
        if not client.is_active or not client.user.is_active:
            raise exceptions.AuthenticationFailed("This API key has been revoked.")
        client.touch()
        client.user._hub_roles = {client.role} if client.role else set()
        return client.user, client

    def authenticate_header(self, request):
        return self.keyword


def _same(a, b):
    import hmac

    return hmac.compare_digest(a, b)


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

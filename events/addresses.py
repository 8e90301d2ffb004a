"""Where a webhook may be sent: events.addresses.check_url(url).

https only (http with settings.DEBUG), and no host that resolves to an address of the hub's
own machine or network (loopback, private, link-local, multicast, reserved, unspecified),
since a webhook would otherwise let whoever writes a subscription make the hub call its
internal services (server-side request forgery). settings.HUB_WEBHOOK_ALLOW_PRIVATE lifts the
address rule. The check runs when a subscription is saved (Subscription.clean) and again
before each delivery (events.delivery), because what a name resolves to can change.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

# Why an address is refused, in the order the checks run (the first that holds is named).
REFUSED_ADDRESSES = (
    ("is_unspecified", "unspecified"),
    ("is_loopback", "loopback"),
    ("is_link_local", "link-local"),
    ("is_multicast", "multicast"),
    ("is_private", "private"),
    ("is_reserved", "reserved"),
)


def check_url(url):
    """Raise a ValidationError saying what is wrong unless `url` may receive webhooks: https
    (http only with settings.DEBUG), a host, and, unless settings.HUB_WEBHOOK_ALLOW_PRIVATE,
    every address the host resolves to a public one."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValidationError(f"The webhook URL is not a valid URL: {exc}.") from None
    allowed = ("https", "http") if settings.DEBUG else ("https",)
    if parts.scheme not in allowed:
        raise ValidationError(
            "The webhook URL must start with https:// (plain http is allowed only while "
            "HUB_DEBUG is on)."
        )
    host = parts.hostname
    if not host:
        raise ValidationError("The webhook URL has no host name.")
    if settings.HUB_WEBHOOK_ALLOW_PRIVATE:
        return
    for address in _addresses(host, port or (443 if parts.scheme == "https" else 80)):
        kind = refused_kind(address)
        if kind:
            shown = (
                host if host.strip("[]") == str(address) else f"{host} resolves to {address}, which"
            )
            raise ValidationError(
                f"The webhook URL's host {shown} is not a public address ({kind}): webhooks "
                "may not be sent into the hub's own machine or network (server-side request "
                "forgery). Use a public host name, or turn on HUB_WEBHOOK_ALLOW_PRIVATE."
            )


def refused_kind(address):
    """Why `address` (an ipaddress object) may not receive webhooks ("loopback", ...), or
    None. An IPv4 address written as IPv6 (::ffff:10.0.0.1) is judged as the IPv4 one."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    for attribute, kind in REFUSED_ADDRESSES:
        if getattr(address, attribute):
            return kind
    if not address.is_global:  # shared (100.64/10), documentation and the like
        return "non-public"
    return None


def _addresses(host, port):
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise ValidationError(
            f"The webhook URL's host {host} could not be resolved: check the name."
        ) from None
    # The scope of a link-local IPv6 address ("fe80::1%eth0") is not part of the address.
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in found]

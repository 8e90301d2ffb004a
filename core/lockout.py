"""The address a request comes from, and the lockout of addresses that send wrong API keys.

HUB_API_KEY_FAILURE_LIMIT wrong keys from one address within HUB_API_KEY_COOLOFF_SECONDS lock
that address for HUB_API_KEY_COOLOFF_SECONDS from the failure that reached the limit. While it
is locked every key from it is refused before it is looked at, a valid one too: otherwise the
answer to a guess would still tell a right key from a wrong one. Requests while locked do not
extend the lock, so a client that keeps retrying is let in again on time. A revoked key does not
count: it was issued, not guessed, and a forgotten client still sending one must not lock out the
other clients on its host.

The counts live in Django's cache, shared by every web process when it is Redis. If the cache
cannot be reached, keys are checked without throttling (and the cache is left alone for
CACHE_RETRY_SECONDS in this process) rather than refusing every API call.
"""

import functools
import ipaddress
import logging
import time

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

CACHE_RETRY_SECONDS = 5
_cache_down_until = 0.0


def client_address(request):
    """The client's IP address: REMOTE_ADDR, unless that is a trusted proxy
    (HUB_TRUSTED_PROXIES); then the last X-Forwarded-For address that is not a trusted proxy.
    Addresses further left were written by the client itself and are never believed."""
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = _trusted_proxies(tuple(settings.HUB_TRUSTED_PROXIES))
    if not proxies or not _is_proxy(remote, proxies):
        return remote
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    for hop in reversed(hops):
        hop = hop.strip()
        if not _is_ip(hop):
            break  # not written by a proxy of ours: nothing left of it can be believed
        if not _is_proxy(hop, proxies):
            return hop
    return remote


@functools.cache
def _trusted_proxies(proxies):
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _is_ip(text):
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_proxy(address, proxies):
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def key_lockout_wait(address):
    """Seconds until keys from `address` are looked at again; 0 when it is not locked."""
    locked_until = _cached(cache.get, _lock_key(address))
    if locked_until is None:
        return 0
    return max(1, round(locked_until - time.time()))


def record_wrong_key(address):
    """Count a wrong key from `address`. The failure that reaches the limit locks the address:
    returns the seconds it is locked for, else 0."""
    cooloff = settings.HUB_API_KEY_COOLOFF_SECONDS
    failures_key = _failures_key(address)
    # The window starts at the first failure: add() sets the expiry, incr() keeps it.
    if _cached(cache.add, failures_key, 0, timeout=cooloff) is None:
        return 0
    try:
        failures = _cached(cache.incr, failures_key)
    except ValueError:  # expired between add() and incr(): this failure starts a new window
        _cached(cache.set, failures_key, 1, timeout=cooloff)
        failures = 1
    if failures is None or failures < settings.HUB_API_KEY_FAILURE_LIMIT:
        return 0
    _cached(cache.set, _lock_key(address), time.time() + cooloff, timeout=cooloff)
    _cached(cache.delete, failures_key)
    logger.warning(
        "API keys from %s locked for %d s after %d wrong keys", address, cooloff, failures
    )
    return cooloff


def _failures_key(address):
    return f"api-key-failures:{address}"


def _lock_key(address):
    return f"api-key-lock:{address}"


def _cached(operation, *args, **kwargs):
    """`operation` on the cache, or None while the cache is unreachable."""
    global _cache_down_until
    if time.monotonic() < _cache_down_until:
        return None
    try:
        return operation(*args, **kwargs)
    except RedisError as exc:
        _cache_down_until = time.monotonic() + CACHE_RETRY_SECONDS
        logger.warning("API key throttling off for %d s: cache down: %s", CACHE_RETRY_SECONDS, exc)
        return None

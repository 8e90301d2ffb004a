"""Guessing is throttled: failed logins per account and per address (django-axes), wrong API
keys per address (core.lockout); and a login lands on a page that exists."""

import time
from datetime import timedelta

import pytest
from django.test import RequestFactory, override_settings
from rest_framework.test import APIClient

from core import lockout
from mdm.models import ApiClient
from mdm.services import create_api_client

LOGIN = "/admin/login/"
PASSWORD = "pw-for-tests-only"  # the conftest users'


def _login(client, username, password, address="127.0.0.1", **fields):
    data = {"username": username, "password": password, **fields}
    return client.post(LOGIN, data, REMOTE_ADDR=address)


def _fail(client, username, times, address="127.0.0.1"):
    return [_login(client, username, "wrong", address).status_code for _ in range(times)]


def _logged_in(client):
    return client.get("/admin/").status_code == 200


def test_it_refuses_the_right_password_after_sixty_wrong_ones(client, steward, settings):
    statuses = _fail(client, steward.username, 60)
    limit = settings.HUB_LOGIN_FAILURE_LIMIT
    assert statuses[: limit - 1] == [200] * (limit - 1)  # the form again, with its error
    assert set(statuses[limit - 1 :]) == {429}

    response = _login(client, steward.username, PASSWORD, next="/admin/")
    assert response.status_code == 429
    assert response["Retry-After"] == str(settings.HUB_LOGIN_COOLOFF_SECONDS)
    text = response.content.decode()
    assert f"there were {limit} or more failed logins for this account or from" in text
    assert "Logins are refused until" in text
    assert "in 15 minutes, even with the right password" in text
    assert not _logged_in(client)


def test_it_locks_the_account_whatever_address_the_tries_come_from(client, steward, viewer):
    _fail(client, steward.username, 10, address="10.0.0.1")

    assert _login(client, steward.username, PASSWORD, address="10.0.0.2").status_code == 429
    # Another account from yet another address is not affected.
    assert _login(client, viewer.username, PASSWORD, address="10.0.0.3").status_code == 302
    assert _logged_in(client)


def test_it_locks_the_address_whatever_accounts_it_tries(client, steward, viewer):
    for name in ("admin", "root", "steward", "stella", "stella.s"):
        _fail(client, name, 2, address="10.0.0.1")

    assert _login(client, viewer.username, PASSWORD, address="10.0.0.1").status_code == 429
    # The same account from another address is not affected.
    assert _login(client, viewer.username, PASSWORD, address="10.0.0.2").status_code == 302
    assert _logged_in(client)


def test_it_lets_the_login_in_again_after_the_cooloff(client, steward, settings):
    settings.AXES_COOLOFF_TIME = timedelta(seconds=1)
    _fail(client, steward.username, 10)
    assert _login(client, steward.username, PASSWORD).status_code == 429

    time.sleep(1.5)
    response = _login(client, steward.username, PASSWORD)
    assert response.status_code == 302
    assert _logged_in(client)


def test_it_keeps_counting_when_someone_logs_in_from_the_guessing_address(client, steward, viewer):
    # A login of one's own must not wipe the failures of the address's guesses at another.
    _fail(client, steward.username, 9, address="10.0.0.1")
    assert _login(client, viewer.username, PASSWORD, address="10.0.0.1").status_code == 302
    client.logout()
    _fail(client, steward.username, 1, address="10.0.0.1")

    assert _login(client, steward.username, PASSWORD, address="10.0.0.2").status_code == 429


@pytest.mark.parametrize("next_field", [{}, {"next": "https://evil.example/"}])
def test_it_lands_a_login_without_a_safe_next_on_the_start_page(client, steward, next_field):
    response = _login(client, steward.username, PASSWORD, **next_field)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get(response["Location"]).status_code == 200


# --- API keys --------------------------------------------------------------------------------


def _key_client(key, address="127.0.0.1"):
    api = APIClient(REMOTE_ADDR=address)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return api


@pytest.fixture
def erp_key(erp_system):
    return create_api_client("ERP_LEGACY", "erp-sync")[1]


def test_it_locks_out_an_address_that_sends_too_many_wrong_keys(erp_key, settings):
    limit = settings.HUB_API_KEY_FAILURE_LIMIT
    guesser = _key_client("mdh_0000_guess")
    statuses = [guesser.get("/api/v1/items/").status_code for _ in range(limit + 5)]
    assert statuses[: limit - 1] == [401] * (limit - 1)
    assert set(statuses[limit - 1 :]) == {429}

    # A valid key from the locked address is refused too: the answer tells nothing.
    response = _key_client(erp_key).get("/api/v1/items/")
    assert response.status_code == 429
    wait = int(response["Retry-After"])
    assert settings.HUB_API_KEY_COOLOFF_SECONDS - 60 < wait <= settings.HUB_API_KEY_COOLOFF_SECONDS
    assert response.json()["detail"] == (
        "Too many requests with a wrong API key came from your address, so every key sent "
        "from it is refused for now, a valid one too. Check the key your client sends. "
        f"Try again in {wait} seconds."
    )
    # The same key from another address works.
    assert _key_client(erp_key, address="10.0.0.9").get("/api/v1/items/").status_code == 200


def test_it_lets_keys_in_again_after_the_cooloff(erp_key, settings):
    settings.HUB_API_KEY_FAILURE_LIMIT = 3
    # Long enough for the four requests below on a loaded machine, short for the wait.
    settings.HUB_API_KEY_COOLOFF_SECONDS = 3
    for _ in range(3):
        _key_client("mdh_0000_guess").get("/api/v1/items/")
    assert _key_client(erp_key).get("/api/v1/items/").status_code == 429

    time.sleep(3.5)
    assert _key_client(erp_key).get("/api/v1/items/").status_code == 200


def test_it_does_not_count_a_revoked_key(erp_key, settings):
    ApiClient.objects.filter(name="erp-sync").update(is_active=False)
    forgotten = _key_client(erp_key)
    for _ in range(settings.HUB_API_KEY_FAILURE_LIMIT + 5):
        response = forgotten.get("/api/v1/items/")
        assert response.status_code == 401
        assert response.json()["detail"] == "This API key has been revoked."


def test_it_checks_keys_without_throttling_while_the_cache_is_down(erp_key, monkeypatch):
    monkeypatch.setattr(lockout, "_cache_down_until", 0.0)
    nowhere = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache"}}
    nowhere["default"]["LOCATION"] = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    with override_settings(CACHES=nowhere):
        assert _key_client(erp_key).get("/api/v1/items/").status_code == 200
        assert _key_client("mdh_0000_guess").get("/api/v1/items/").status_code == 401


def test_it_believes_x_forwarded_for_only_from_a_trusted_proxy(settings):
    settings.HUB_TRUSTED_PROXIES = ["10.0.0.0/24"]
    factory = RequestFactory()

    def address(remote, forwarded=None):
        extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
        return lockout.client_address(factory.get("/", REMOTE_ADDR=remote, **extra))

    # Through the proxy: the address the proxy saw, not what the client wrote before it.
    assert address("10.0.0.1", "198.51.100.1, 203.0.113.5") == "203.0.113.5"
    assert address("10.0.0.1", "203.0.113.5, 10.0.0.7") == "203.0.113.5"
    assert address("10.0.0.1", "garbage, 10.0.0.7") == "10.0.0.1"
    assert address("10.0.0.1") == "10.0.0.1"
    # Straight from a client: its own header is ignored.
    assert address("203.0.113.5", "198.51.100.1") == "203.0.113.5"
    settings.HUB_TRUSTED_PROXIES = []
    assert address("10.0.0.1", "203.0.113.5") == "10.0.0.1"

"""What makes a webhook safe: signatures a receiver verifies with the Standard Webhooks
library and the secret it was shown once; rotation with an overlap; and webhook URLs that
cannot point the hub at its own machine or network."""

import datetime as dt
import socket
import uuid

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from events import addresses, webhooks
from events.models import Subscription, WebhookSecret
from tests.problems import problem_of

BODY = b'{"specversion":"1.0","id":"x"}'


@pytest.fixture
def push(db):
    return Subscription.objects.create(
        name="planning-push",
        consumer="PLANNING",
        mode=Subscription.Mode.PUSH,
        url="https://planning.example.com/hooks/hub",
    )


@pytest.fixture
def steward_session(steward):
    api = APIClient()
    api.force_login(steward)
    return api


def _verify(secret, headers, body=BODY):
    return Webhook(secret).verify(body, headers)


def test_it_signs_so_that_the_secret_shown_once_verifies(push):
    secret = webhooks.create_secret(push)
    event_id = uuid.uuid4()
    headers = webhooks.signature_headers(push, event_id, BODY)
    assert secret.startswith("whsec_")
    assert headers["webhook-id"] == str(event_id)
    assert _verify(secret, headers) == {"specversion": "1.0", "id": "x"}
    # A body changed on the way, or another secret, does not verify.
    with pytest.raises(WebhookVerificationError):
        _verify(secret, headers, BODY.replace(b"x", b"y"))
    with pytest.raises(WebhookVerificationError):
        _verify(_other_secret(), headers)


def _other_secret():
    return "whsec_" + "A" * 43 + "="


def test_it_stores_the_secret_encrypted_never_as_it_was_shown(push):
    secret = webhooks.create_secret(push)
    stored = WebhookSecret.objects.get(subscription=push)
    raw = secret.removeprefix("whsec_")
    assert raw not in stored.encrypted and secret not in stored.encrypted
    assert webhooks.signing_secrets(push) == [secret]


def test_a_rotation_signs_with_both_secrets_then_only_the_new_one(push, settings):
    settings.HUB_WEBHOOK_SECRET_OVERLAP_HOURS = 24
    start = dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)
    old = webhooks.create_secret(push, now=start)
    rotated_at = start + dt.timedelta(days=10)
    new = webhooks.rotate_secret(push, now=rotated_at)

    during = webhooks.signature_headers(
        push, "evt-1", BODY, now=rotated_at + dt.timedelta(hours=23)
    )
    assert len(during["webhook-signature"].split(" ")) == 2
    assert _verify(old, during) and _verify(new, during)

    after = webhooks.signature_headers(push, "evt-1", BODY, now=rotated_at + dt.timedelta(hours=24))
    assert len(after["webhook-signature"].split(" ")) == 1
    assert _verify(new, after)
    with pytest.raises(WebhookVerificationError):
        _verify(old, after)


def test_a_second_rotation_deletes_the_secrets_expired_already(push, settings):
    settings.HUB_WEBHOOK_SECRET_OVERLAP_HOURS = 1
    start = dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC)
    webhooks.create_secret(push, now=start)
    webhooks.rotate_secret(push, now=start + dt.timedelta(days=1))
    newest = webhooks.rotate_secret(push, now=start + dt.timedelta(days=2))
    assert push.secrets.count() == 2  # the first expired a day ago; the second overlaps
    assert webhooks.signing_secrets(push, now=start + dt.timedelta(days=3)) == [newest]


def test_it_refuses_to_sign_without_a_secret(push):
    with pytest.raises(ValueError, match="no signing secret"):
        webhooks.signature_headers(push, "evt-1", BODY)


def test_a_steward_rotates_through_the_api_and_sees_the_secret_once(push, steward_session):
    old = webhooks.create_secret(push)
    url = f"/api/v1/events/subscriptions/{push.pk}/secret/rotate/"
    response = steward_session.post(url)
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    new = body["secret"]
    assert new.startswith("whsec_") and new != old
    assert body["previous_expire_at"] is not None
    headers = webhooks.signature_headers(push, "evt-1", BODY)
    assert _verify(new, headers) and _verify(old, headers)
    # The subscription never shows a secret again.
    shown = steward_session.get(f"/api/v1/events/subscriptions/{push.pk}/").content.decode()
    assert new not in shown and new.removeprefix("whsec_") not in shown


def test_a_leaked_secret_is_ended_at_once_by_a_rotation_without_overlap(push, steward_session):
    leaked = webhooks.create_secret(push)
    url = f"/api/v1/events/subscriptions/{push.pk}/secret/rotate/"
    response = steward_session.post(url, {"overlap_hours": 0}, content_type="application/json")
    assert response.status_code == 200, response.content
    new = response.json()["secret"]
    headers = webhooks.signature_headers(push, "evt-1", BODY)
    assert _verify(new, headers)
    with pytest.raises(WebhookVerificationError):
        _verify(leaked, headers)


def test_a_rotation_refuses_a_body_it_does_not_understand(push, steward_session):
    url = f"/api/v1/events/subscriptions/{push.pk}/secret/rotate/"
    typo = steward_session.post(url, {"overlap_hour": 0}, content_type="application/json")
    assert "Unknown field(s) overlap_hour" in str(problem_of(typo, 400))
    too_long = steward_session.post(url, {"overlap_hours": -1}, content_type="application/json")
    problem_of(too_long, 400)
    assert not push.secrets.exists()  # nothing rotated


def test_a_pull_subscription_has_no_secret_to_rotate(planning_feed, steward_session):
    url = f"/api/v1/events/subscriptions/{planning_feed.pk}/secret/rotate/"
    detail = problem_of(steward_session.post(url), 400)["detail"]
    assert "pull subscription" in detail
    assert not planning_feed.secrets.exists()


# --- URLs -------------------------------------------------------------------------------------


@pytest.fixture
def strict(settings):
    settings.DEBUG = False
    settings.HUB_WEBHOOK_ALLOW_PRIVATE = False
    return settings


def test_it_refuses_plain_http_outside_debug(strict):
    with pytest.raises(ValidationError, match="https://"):
        addresses.check_url("http://planning.example.com/hooks")
    strict.DEBUG = True
    addresses.check_url("http://93.184.215.14/hooks")


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://127.0.0.1/hooks", "loopback"),
        ("https://127.0.0.1:8443/hooks", "loopback"),
        ("https://10.1.2.3/hooks", "private"),
        ("https://192.168.0.10/hooks", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[::1]/hooks", "loopback"),
        ("https://[::ffff:10.0.0.1]/hooks", "private"),
        ("https://0.0.0.0/hooks", "unspecified"),
        ("https://224.0.0.1/hooks", "multicast"),
    ],
)
def test_it_refuses_addresses_of_its_own_machine_and_network(strict, url, kind):
    with pytest.raises(ValidationError) as refused:
        addresses.check_url(url)
    message = refused.value.messages[0]
    assert f"is not a public address ({kind})" in message
    assert "HUB_WEBHOOK_ALLOW_PRIVATE" in message
    strict.HUB_WEBHOOK_ALLOW_PRIVATE = True
    addresses.check_url(url)


def test_it_refuses_a_name_that_resolves_to_a_private_address(strict, monkeypatch):
    def resolve(host, port, **kwargs):
        assert host == "hooks.intranet.example"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.20.30.40", port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(
        ValidationError, match=r"resolves to 10.20.30.40, which is not a public address \(private\)"
    ):
        addresses.check_url("https://hooks.intranet.example/hub")


def test_it_says_when_a_host_cannot_be_resolved(strict, monkeypatch):
    def resolve(host, port, **kwargs):
        raise socket.gaierror("Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(ValidationError, match="could not be resolved"):
        addresses.check_url("https://no-such-host.example/hub")


def test_it_accepts_a_public_https_url(strict):
    addresses.check_url("https://93.184.215.14/hooks/hub")


@pytest.mark.parametrize("url", ["ftp://example.com/x", "https:///nohost", "https://h:99999/"])
def test_it_refuses_what_is_no_webhook_url(strict, url):
    with pytest.raises(ValidationError):
        addresses.check_url(url)

from unittest import mock

import pytest


@pytest.mark.django_db
def test_it_reports_the_database_up_without_credentials(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == {"status": "ok"}


@pytest.mark.django_db
def test_it_answers_503_naming_the_database_when_it_is_down(client):
    with mock.patch("hub.views._check_database", side_effect=OSError("connection refused")):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["database"]["status"] == "down"
    assert "connection refused" in body["checks"]["database"]["error"]


@pytest.mark.django_db
def test_it_skips_the_broker_when_none_is_configured(client, settings):
    settings.BROKER_CONFIGURED = False
    assert "broker" not in client.get("/healthz").json()["checks"]


@pytest.mark.django_db
def test_it_reports_an_unreachable_broker(client, settings):
    settings.BROKER_CONFIGURED = True
    settings.HEALTHZ_BROKER_TIMEOUT = 1
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["status"] == "down"
    assert response.json()["checks"]["database"]["status"] == "ok"


def test_it_refuses_writes(client):
    assert client.post("/healthz").status_code == 405

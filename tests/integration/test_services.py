"""The hub against the real PostgreSQL and Redis of CI (DATABASE_URL, CELERY_BROKER_URL)."""

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from mdm.models import allocate_public_ids
from tests.services import require

pytestmark = pytest.mark.integration


@pytest.mark.django_db
def test_it_reports_the_real_broker_up(client, settings):
    require(os.getenv("CELERY_BROKER_URL", "").startswith("redis://"), "Redis (CELERY_BROKER_URL)")
    settings.BROKER_CONFIGURED = True
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["broker"] == {"status": "ok"}


@pytest.mark.django_db(transaction=True)
def test_it_never_hands_out_one_public_id_twice_under_concurrency():
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")

    def allocate(_):
        try:
            return [allocate_public_ids("TST")[0] for _ in range(25)]
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = [i for batch in pool.map(allocate, range(8)) for i in batch]
    assert len(ids) == 200
    assert len(set(ids)) == 200
    assert max(ids) == "TST-000200"

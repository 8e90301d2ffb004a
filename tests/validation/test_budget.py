"""Submission budgets: a system past its messages or bytes per minute gets a 429 with
Retry-After and nothing is stored; other systems are not affected; a large rejected payload
is kept as its size, hash and first bytes."""

import datetime
import json
from unittest import mock

import pytest
from django.utils import timezone

from tests.problems import problem_of
from validation.models import InboundMessage

from .world import submission

pytestmark = pytest.mark.django_db

URL = "/api/v1/messages/"
# 20 seconds into a minute: every request of a test falls in the same minute.
NOW = datetime.datetime(2026, 3, 2, 9, 15, 20, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _frozen_clock():
    with mock.patch.object(timezone, "now", return_value=NOW):
        yield


def post(api, key, body=None):
    return api.post(URL, body or submission(), format="json", HTTP_IDEMPOTENCY_KEY=key)


def assert_over_budget(response, budget, limit):
    assert response["Retry-After"] == "40"
    body = problem_of(response, 429)
    assert body["budget"] == budget
    assert body["limit"] == limit
    assert body["retry_after"] == 40
    assert "ERP_LEGACY may submit" in body["detail"]
    assert "Send again in 40 s" in body["detail"]


def test_it_refuses_a_system_over_its_messages_per_minute(erp_api, planning_api, settings):
    settings.HUB_BUDGET_MESSAGES_PER_MINUTE = 2
    assert post(erp_api, "a").status_code == 202
    assert post(erp_api, "b").status_code == 202

    assert_over_budget(post(erp_api, "c"), "messages_per_minute", 2)
    assert InboundMessage.objects.filter(system__code="ERP_LEGACY").count() == 2

    # Another system has a budget of its own.
    assert post(planning_api, "a").status_code == 202


def test_it_refuses_a_system_over_its_bytes_per_minute(erp_api, planning_api, settings):
    size = len(json.dumps(submission()))
    settings.HUB_BUDGET_BYTES_PER_MINUTE = size * 3 // 2
    assert post(erp_api, "a").status_code == 202

    assert_over_budget(post(erp_api, "b"), "bytes_per_minute", size * 3 // 2)
    assert InboundMessage.objects.filter(system__code="ERP_LEGACY").count() == 1
    assert post(planning_api, "a").status_code == 202


def test_a_systems_own_budget_overrides_the_default(erp_api, erp_system, settings):
    settings.HUB_BUDGET_MESSAGES_PER_MINUTE = 1
    erp_system.budget_messages_per_minute = 0  # no limit for this one
    erp_system.save()
    for key in "abc":
        assert post(erp_api, key).status_code == 202

    erp_system.budget_messages_per_minute = 3
    erp_system.save()
    assert_over_budget(post(erp_api, "d"), "messages_per_minute", 3)


def test_the_next_minute_has_a_fresh_budget(erp_api, settings):
    settings.HUB_BUDGET_MESSAGES_PER_MINUTE = 1
    assert post(erp_api, "a").status_code == 202
    assert post(erp_api, "b").status_code == 429
    with mock.patch.object(timezone, "now", return_value=NOW + datetime.timedelta(seconds=40)):
        assert post(erp_api, "b").status_code == 202


def test_it_keeps_a_large_rejected_payload_as_its_size_hash_and_first_bytes(erp_api, settings):
    settings.HUB_REJECTED_PAYLOAD_MAX_BYTES = 1024
    large = {"po_number": "X" * 5000}
    response = post(erp_api, "large", submission(payload=large))
    assert response.status_code == 400
    assert "it is kept as" in response.json()["detail"]
    small = {"po_number": "X"}
    assert post(erp_api, "small", submission(payload=small)).status_code == 400

    kept = InboundMessage.objects.get(idempotency_key="large")
    assert kept.status == "rejected"
    truncated = kept.payload["hub_truncated"]
    assert truncated["bytes"] == len(json.dumps(large, separators=(",", ":")))
    assert truncated["sha256"] == kept.payload_sha256
    assert truncated["prefix"] == '{"po_number":"' + "X" * (1024 - 14)
    assert InboundMessage.objects.get(idempotency_key="small").payload == small

    # Sent again with its key, it is still the same message (its hash is of what was sent).
    again = post(erp_api, "large", submission(payload=large))
    assert again.status_code == 200, again.content
    assert again.json()["id"] == kept.public_id

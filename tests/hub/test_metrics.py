"""/metrics: refused without credentials, and with them the hub's key figures in the
Prometheus text format, read back with prometheus_client's own parser and checked against a
small world: three forecasts released with known latencies, open cases by rule, a rejection
and a release by override, a message waiting and a dead letter."""

import datetime
from unittest import mock

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from quarantine import kpis
from quarantine import services as quarantine
from quarantine.models import QuarantineCase
from tests.quarantine.test_cases import finding
from tests.quarantine.test_cases import quarantine as quarantined
from tests.validation.world import example
from validation import enqueue
from validation.models import InboundMessage
from validation.submission import submit_message

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-tests-only-0123456789"


@pytest.fixture(autouse=True)
def _token(settings):
    settings.METRICS_TOKEN = TOKEN


def scrape(client, token=TOKEN):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return {f.name: f for f in text_string_to_metric_families(response.content.decode())}


def by_label(family, *labels):
    return {tuple(s.labels[name] for name in labels): s.value for s in family.samples}


def _submitted(system, message_type, key, **fields):
    with mock.patch.object(enqueue, "enqueue_validation"):
        message = submit_message(
            system=system,
            message_type=message_type,
            schema_version=1,
            payload=example(message_type, **fields),
            idempotency_key=key,
        ).message
    return message


def _set(message, **fields):
    InboundMessage.objects.filter(pk=message.pk).update(**fields)


@pytest.fixture
def world(eager_celery, erp_system, planning_system, steward, viewer):
    """Forecasts released 60 s, 600 s and 7,200 s after they came in (two days ago), and one
    of 9 days ago outside the week's window; ship notices quarantined by ITEM_OBSOLETE (three,
    one released by override) and SHIP_TO_INVALID (two, one rejected); a purchase order
    waiting for two hours and one dead-lettered. Returns the world's "now"."""
    now = timezone.now()
    received = now - datetime.timedelta(days=2)
    for version, latency in ((4, 60), (5, 600), (6, 7200)):
        message = _submitted(planning_system, "forecast", f"f{version}", version=version)
        _set(
            message,
            status="released",
            received_at=received,
            finished_at=received + datetime.timedelta(seconds=latency),
        )
    old = _submitted(planning_system, "forecast", "f3", version=3)
    nine_days = now - datetime.timedelta(days=9)
    _set(old, status="released", received_at=nine_days, finished_at=now)

    obsolete = [finding("ITEM_OBSOLETE", "$.lines[1].item")]
    ship_to = [finding("SHIP_TO_INVALID", "$.ship_to", team="erp")]
    cases = [
        quarantined(erp_system, diagnostics).quarantine_case
        for diagnostics in (obsolete, obsolete, obsolete, ship_to, ship_to)
    ]
    steward.groups.add(Group.objects.get(name="override"))
    overrider = type(steward).objects.get(pk=steward.pk)
    quarantine.release_by_override(cases[0], by=overrider, reason="Planner approved")
    quarantine.reject(cases[3], by=steward, reason="Sent twice")

    waiting = _submitted(erp_system, "purchase_order", "po-waiting")
    _set(waiting, received_at=now - datetime.timedelta(hours=2))
    dead = _submitted(erp_system, "purchase_order", "po-dead", po_number="4500099999")
    _set(dead, status="dead_letter", finished_at=now, last_error="broker gone")
    return now


# --- who may read -----------------------------------------------------------------------------


def test_it_refuses_a_request_without_credentials(client, world):
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"hub_" not in response.content


def test_it_says_so_when_no_token_is_configured(client, settings, world):
    settings.METRICS_TOKEN = ""
    response = client.get("/metrics")
    assert response.status_code == 401
    assert b"HUB_METRICS_TOKEN is not set" in response.content
    # Whatever token a scraper sends, none is accepted.
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 401
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 401
    assert b"HUB_METRICS_TOKEN is not set" in response.content


def test_it_refuses_a_wrong_token_and_a_hub_api_key(client, world, planning_system):
    from mdm.services import create_api_client

    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    _, key = create_api_client("PLANNING", "planning-sync")
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401


def test_it_refuses_a_login_without_a_hub_role(client, django_user_model, world):
    outsider = django_user_model.objects.create_user(username="olga", is_staff=True)
    client.force_login(outsider)
    assert client.get("/metrics").status_code == 403


def test_a_viewer_logged_in_reads_the_metrics(client, viewer, world):
    client.force_login(viewer)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert b"# TYPE hub_quarantine_open_cases gauge" in response.content


# --- what it says -----------------------------------------------------------------------------


def test_it_gives_the_forecast_release_latency_of_the_week(client, world):
    families = scrape(client)

    histogram = families["hub_forecast_release_latency_seconds"]
    assert histogram.type == "histogram"
    buckets = {s.labels["le"]: s.value for s in histogram.samples}
    assert buckets["60.0"] == 1
    assert buckets["900.0"] == 2
    assert buckets["3600.0"] == 2
    assert buckets["14400.0"] == 3
    assert buckets["+Inf"] == 3  # the forecast of nine days ago is outside the window
    assert families["hub_forecast_release_latency_seconds_gcount"].samples[0].value == 3
    assert families["hub_forecast_release_latency_seconds_gsum"].samples[0].value == 7860
    quantiles = by_label(families["hub_forecast_release_latency_quantile_seconds"], "quantile")
    assert quantiles == {("0.5",): 600, ("0.95",): 7200}


def test_it_gives_open_cases_by_rule_and_team_and_the_manual_interventions(client, world):
    families = scrape(client)

    assert by_label(families["hub_quarantine_open_cases_by_rule"], "rule") == {
        ("ITEM_OBSOLETE",): 2,
        ("SHIP_TO_INVALID",): 1,
    }
    assert by_label(families["hub_quarantine_open_cases"], "team") == {
        ("procurement",): 2,
        ("erp",): 1,
    }
    interventions = by_label(families["hub_quarantine_manual_interventions"], "action")
    assert interventions == {
        ("assign",): 0,
        ("replay",): 0,
        ("edit",): 0,
        ("fix",): 0,
        ("reject",): 1,
        ("release_by_override",): 1,
    }
    assert by_label(families["hub_quarantine_replays"], "trigger") == {
        ("manual",): 0,
        ("automatic",): 0,
    }


def test_it_gives_what_an_operator_looks_at_first(client, world):
    an_hour_later = world + datetime.timedelta(hours=1)
    with mock.patch("hub.metrics.timezone.now", return_value=an_hour_later):
        families = scrape(client)

    assert by_label(families["hub_messages_received"], "type", "status") == {
        ("ship_notice", "quarantined"): 4,
        ("ship_notice", "released"): 1,  # by override
        ("purchase_order", "received"): 1,
        ("purchase_order", "dead_letter"): 1,
    }
    assert by_label(families["hub_messages_pending"], "type", "status") == {
        ("purchase_order", "received"): 1,
    }
    assert by_label(families["hub_messages_dead_letter"], "type") == {("purchase_order",): 1}
    age = families["hub_messages_oldest_pending_age_seconds"].samples[0].value
    assert age == 3 * 3600
    # The cases were opened just after the world's "now".
    oldest = families["hub_quarantine_oldest_open_case_age_seconds"].samples[0].value
    assert 3000 < oldest <= 3600
    assert families["hub_metrics_failed_kpis"].samples[0].value == 0
    for family in families.values():
        assert family.documentation, f"{family.name} has no HELP"


def test_a_kpi_that_fails_is_left_out_and_counted(client, world):
    broken = kpis.Kpi("hub_broken", "Broken", "Always fails.", mock.Mock(side_effect=KeyError))
    with mock.patch.object(kpis, "KPIS", [*kpis.KPIS, broken]):
        families = scrape(client)
    assert "hub_broken" not in families
    assert families["hub_metrics_failed_kpis"].samples[0].value == 1
    assert "hub_quarantine_open_cases" in families


def test_a_new_kpi_is_one_function_and_one_registration(client, world):
    before = list(kpis.KPIS)
    try:

        @kpis.kpi("hub_quarantine_rejected_cases", "Rejected cases", "Cases rejected.")
        def rejected_cases(now, window):
            count = QuarantineCase.objects.filter(status="rejected").count()
            return [kpis.Sample({}, count)]

        families = scrape(client)
    finally:
        kpis.KPIS[:] = before
    assert families["hub_quarantine_rejected_cases"].samples[0].value == 1
    assert families["hub_quarantine_rejected_cases"].documentation.startswith("Cases rejected.")

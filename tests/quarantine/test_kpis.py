"""The key figures (quarantine.kpis) that the dashboard shows and /metrics exposes: what
counts as a manual intervention and as a replay, the windows, and the dashboard panels."""

import datetime
from unittest import mock

import pytest
from django.contrib.auth.models import Group
from django.test import TestCase
from django.utils import timezone

from quarantine import kpis, services, views
from quarantine.models import CaseKey, CaseTransition
from tests.quarantine.test_cases import SHIP_NOTICE, finding, quarantine
from tests.validation.world import build_world, example
from validation import enqueue, pipeline
from validation.submission import submit_message

pytestmark = pytest.mark.django_db

RELEASED = pipeline.Outcome(status="released", diagnostics=[])
AGAIN = pipeline.Outcome("quarantined", [finding("SHIP_TO_INVALID", "$.ship_to", team="erp")])


def figures(function, now=None):
    """{label values: value} of a KPI function over its registered window."""
    now = now or timezone.now()
    figure = next(k for k in kpis.KPIS if k.compute is function)
    return {tuple(s.labels.values()): s.value for s in figure.evaluate(now)}


def replayed(outcome, func, *args, **kwargs):
    with (
        mock.patch.object(pipeline, "evaluate", return_value=outcome),
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        return func(*args, **kwargs)


@pytest.fixture
def overrider(steward):
    steward.groups.add(Group.objects.get(name="override"))
    return type(steward).objects.get(pk=steward.pk)


def test_each_action_of_a_person_counts_as_its_intervention(erp_system, steward, overrider):
    first, second, third, fourth = (quarantine(erp_system).quarantine_case for _ in range(4))
    services.assign(first, by=steward, assignee=steward)
    replayed(AGAIN, services.replay, first, by=steward)
    edited = dict(SHIP_NOTICE, ship_to="DE-HH-02")
    replayed(RELEASED, services.edit_payload, second, by=steward, payload=edited)
    services.reject(third, by=steward, reason="Sent twice")
    services.release_by_override(fourth, by=overrider, reason="Approved")

    assert figures(kpis.manual_interventions) == {
        ("assign",): 1,
        ("replay",): 1,
        ("edit",): 1,
        ("fix",): 0,
        ("reject",): 1,
        ("release_by_override",): 1,
    }
    # The replay and the edit validated the message again; the outcomes came back.
    assert figures(kpis.replays) == {("manual",): 2, ("automatic",): 0}
    assert figures(kpis.replay_outcomes) == {
        ("released",): 1,
        ("quarantined_again",): 1,
        ("failed",): 0,
    }


def test_a_fix_by_reference_and_an_auto_replay_count_apart(steward):
    world = build_world()
    messages = []
    for item in ("6204-2RS-XX", "6204-2RS-YY"):
        payload = example("ship_notice", shipment_id=f"ASN-{item}")
        payload["lines"][0]["item"] = item
        with TestCase.captureOnCommitCallbacks(execute=True):
            messages.append(
                submit_message(
                    system=world.systems["SUPPLIER_NET"],
                    message_type="ship_notice",
                    schema_version=1,
                    payload=payload,
                    idempotency_key=f"asn-{item}",
                ).message
            )
    fixed, waiting = (m.quarantine_case for m in messages)
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.fix_by_reference(
            fixed,
            by=steward,
            kind="item",
            system="SUPPLIER_NET",
            code="6204-2RS-XX",
            target=world.bearing.public_id,
        )
    keys = list(CaseKey.objects.filter(case=waiting).values_list("system_id", "kind", "code"))
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.replay_blocked(keys, "a steward asked for it")

    assert figures(kpis.manual_interventions)[("fix",)] == 1
    assert figures(kpis.replays) == {("manual",): 1, ("automatic",): 1}
    outcomes = figures(kpis.replay_outcomes)
    assert outcomes[("released",)] == 1
    assert outcomes[("quarantined_again",)] == 1


def test_transitions_before_the_window_are_not_counted(erp_system, steward):
    old = quarantine(erp_system).quarantine_case
    services.reject(old, by=steward, reason="Sent twice")
    two_days_ago = timezone.now() - datetime.timedelta(days=2)
    CaseTransition.objects.update(at=two_days_ago)
    recent = quarantine(erp_system).quarantine_case
    services.reject(recent, by=steward, reason="Sent twice")

    assert figures(kpis.manual_interventions)[("reject",)] == 1
    tomorrow = timezone.now() + datetime.timedelta(days=1)
    assert figures(kpis.manual_interventions, tomorrow)[("reject",)] == 0


def test_a_distribution_gives_nearest_rank_quantiles_and_cumulative_buckets():
    latencies = kpis.Distribution((30.0, 90.0, 400.0, 4000.0))
    assert (latencies.count, latencies.total, latencies.maximum) == (4, 4520.0, 4000.0)
    assert latencies.quantile(0.5) == 90.0
    assert latencies.quantile(0.95) == 4000.0
    assert latencies.buckets((60, 300, 3600))[:3] == [(60, 1), (300, 2), (3600, 3)]
    assert latencies.buckets((60,))[-1][1] == 4
    assert kpis.Distribution(()).quantile(0.5) is None


def test_the_dashboard_shows_the_key_figures(client, viewer, steward, planning_system):
    now = timezone.now()
    for version, minutes in ((4, 2), (5, 30)):
        with mock.patch.object(enqueue, "enqueue_validation"):
            message = submit_message(
                system=planning_system,
                message_type="forecast",
                schema_version=1,
                payload=example("forecast", version=version),
                idempotency_key=f"f{version}",
            ).message
        type(message).objects.filter(pk=message.pk).update(
            status="released",
            received_at=now - datetime.timedelta(hours=1),
            finished_at=now - datetime.timedelta(hours=1) + datetime.timedelta(minutes=minutes),
        )
    case = quarantine(planning_system).quarantine_case
    services.reject(case, by=steward, reason="Sent twice")
    client.force_login(viewer)

    response = client.get("/quarantine/dashboard/")

    assert response.status_code == 200
    panels = {panel["kpi"].name: panel for panel in response.context["kpis"]}
    # Every key figure but those the dashboard's own breakdowns draw (they stay on /metrics).
    assert set(panels) == {figure.name for figure in kpis.KPIS} - set(views.SHOWN_AS_CHARTS)
    assert set(views.SHOWN_AS_CHARTS) < {figure.name for figure in kpis.KPIS}
    latency = dict(panels["hub_forecast_release_latency_seconds"]["figures"])
    assert latency["count"] == "2"
    assert latency["median"] == "2.0 min"
    assert latency["longest"] == "30.0 min"
    assert panels["hub_quarantine_oldest_open_case_age_seconds"]["figures"] == [("now", "0 s")]
    interventions = dict(panels["hub_quarantine_manual_interventions"]["rows"])
    assert interventions["Reject"] == "1"  # the action in words, not its code
    received = dict(panels["hub_messages_received"]["rows"])
    assert received["Ship notice · Quarantined"] == "1"
    html = response.content.decode()
    assert "Key figures" in html
    assert "Forecast to release latency" in html
    assert 'id="kpi-hub_quarantine_manual_interventions"' in html


def test_values_are_written_for_people():
    from quarantine.views import format_value

    assert format_value(kpis.SECONDS, 45) == "45 s"
    assert format_value(kpis.SECONDS, 5400) == "1.5 h"
    assert format_value(kpis.SECONDS, 3 * 86400) == "3.0 d"
    assert format_value(kpis.RATIO, 0.875) == "88%"
    assert format_value(kpis.COUNT, 12.0) == "12"
    assert format_value(kpis.SECONDS, None) == "–"

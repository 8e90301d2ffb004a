"""The ERP's decision on a forecast release in the thread: accepted or rejected, a step of its
own at the time the ERP gives, with how long after the release it came; while the ERP has not
answered, the release's sentence says for how long it has been pending, or that a newer
version superseded it first. A quarantined answer naming the version is a stop of its
thread. The demo's legacy ERP accepted its forecasts but not the revised critical one."""

import datetime

import pytest
from django.test import Client

from demo.reference_data import DEMO_UNITS
from demo.seed import seed_demo
from mdm.models import Unit
from quarantine import trace
from quarantine.trace_steps import duration_words
from tests.helpers import validated
from tests.validation.world import example
from validation.models import ForecastRelease

pytestmark = pytest.mark.django_db

PLAN = "S&OP-2026-03"


@pytest.fixture
def release(world):
    """S&OP-2026-03 version 3, released by the planning system."""
    message = validated(world.systems["PLANNING"], "forecast", example("forecast"))
    assert message.status == "released", message.diagnostics
    return ForecastRelease.objects.get(message=message)


def answer(world, release, after, system="ERP_LEGACY", **changes):
    """The ERP's answer to `release`, decided `after` its release (UTC)."""
    decided = release.released_at + after
    payload = example(
        "forecast_acceptance",
        decided_at=decided.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z"),
        **changes,
    )
    return validated(world.systems[system], "forecast_acceptance", payload)


def test_an_undecided_release_says_how_long_it_has_been_pending(world, release):
    now = release.released_at + datetime.timedelta(days=3, hours=4)

    [step] = trace.thread(forecast=(PLAN, 3), now=now).steps

    assert step.kind == "forecast_release"
    assert step.what.endswith(
        "The ERP has not accepted or rejected it yet: pending for 3 days 4 h."
    )


def test_the_erps_acceptance_follows_the_release_with_its_latency(world, release):
    acceptance = answer(world, release, datetime.timedelta(hours=2, minutes=5))
    assert acceptance.status == "released", acceptance.diagnostics
    release.refresh_from_db()

    released, decided = trace.thread(forecast=(PLAN, 3)).steps

    assert "pending" not in released.what
    assert decided.kind == "forecast_decision"
    assert (
        decided.at
        == release.decided_at
        == release.released_at + datetime.timedelta(hours=2, minutes=5)
    )
    assert decided.system == {"code": "ERP_LEGACY", "name": "Legacy ERP"}
    assert decided.what == (
        f"Legacy ERP accepted forecast {PLAN} version 3, 2 h 5 min after its release."
    )
    assert decided.message == acceptance.public_id
    assert decided.url == f"/admin/validation/inboundmessage/{acceptance.pk}/change/"
    assert decided.since_previous == {"seconds": 2 * 3600 + 5 * 60.0, "words": "2 h 5 min later"}


def test_a_rejection_says_why(world, release):
    answer(
        world,
        release,
        datetime.timedelta(minutes=40),
        system="ERP_CLOUD",
        decision="rejected",
        reason="Week 12 exceeds the line's capacity.",
    )

    decided = trace.thread(forecast=(PLAN, 3)).steps[-1]

    assert decided.what == (
        f"Cloud ERP rejected forecast {PLAN} version 3, 40 min after its release: Week 12 "
        "exceeds the line's capacity."
    )


def test_a_decision_dated_before_the_release_says_the_clocks_disagree(world, release):
    answer(world, release, datetime.timedelta(seconds=-30))

    released, decided = sorted(trace.thread(forecast=(PLAN, 3)).steps, key=lambda s: s.kind)

    assert decided.kind == "forecast_release" and released.kind == "forecast_decision"
    assert released.what.endswith("30 s before the hub recorded its release.")


def test_a_version_superseded_before_any_decision_says_so(world, release):
    newer = validated(world.systems["PLANNING"], "forecast", example("forecast", version=4))
    assert newer.status == "released", newer.diagnostics

    [step] = trace.thread(forecast=(PLAN, 3)).steps

    assert step.what.endswith("The ERP did not accept or reject it before version 4 superseded it.")
    assert "pending" not in step.what


def test_an_answer_held_in_quarantine_is_a_stop_of_the_versions_thread(world, release):
    echoed = answer(world, release, datetime.timedelta(minutes=1), system="PLANNING")
    assert echoed.status == "quarantined"

    released, stop = trace.thread(forecast=(PLAN, 3)).steps

    assert (released.kind, stop.kind) == ("forecast_release", "quarantine_stop")
    assert stop.message == echoed.public_id
    assert "(rule FORECAST_ACCEPTANCE_NOT_ERP). Still held" in stop.what
    assert "pending for" in released.what


# --- the demo --------------------------------------------------------------------------------


@pytest.fixture
def seeded(django_capture_on_commit_callbacks):
    """The demo world with its messages (tests/demo/test_messages.py), just its units."""
    for code, fields in DEMO_UNITS.items():
        Unit.objects.create(code=code, **fields)
    with django_capture_on_commit_callbacks(execute=True):
        seed_demo(items=200, suppliers=40, today=datetime.date(2026, 3, 2))


def test_the_demos_threads_show_the_accepted_and_the_pending_forecasts(seeded, viewer):
    accepted = ForecastRelease.objects.get(plan_id__startswith="VAL-SOP-", version=1)
    revised = ForecastRelease.objects.get(plan_id__startswith="VAL-CRIT-", version=2)
    client = Client()
    client.force_login(viewer)

    body = client.get(f"/api/v1/trace/?forecast={accepted.plan_id}:1").json()
    page = client.get(f"/quarantine/trace/?forecast={revised.plan_id}:2").content.decode()

    release = body["steps"][0]
    [decision] = [step for step in body["steps"] if step["kind"] == "forecast_decision"]
    assert release["kind"] == "forecast_release"
    assert decision["at"] > release["at"]  # the orders that followed it may come between
    latency = duration_words((accepted.decided_at - accepted.released_at).total_seconds())
    erp = accepted.decided_by.name
    assert decision["what"] == (
        f"{erp} accepted forecast {accepted.plan_id} version 1, {latency} after its release."
    )
    assert decision["system"] == {"code": "ERP_LEGACY", "name": erp}
    assert "pending" not in release["what"]
    # The revised critical forecast waits for the ERP; the answer the planning system echoed
    # for it is held.
    assert "The ERP has not accepted or rejected it yet: pending for" in page
    assert "rule FORECAST_ACCEPTANCE_NOT_ERP" in page
    assert 'data-kind="forecast_decision"' not in page
    version_1 = client.get(f"/quarantine/trace/?forecast={accepted.plan_id}:1").content.decode()
    assert "<strong>ERP decision</strong>" in version_1

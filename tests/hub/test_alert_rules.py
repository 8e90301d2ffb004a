"""The alerting rules shipped in ops/prometheus: promtool accepts the rule file and its unit
tests pass (skipped without promtool, the Debian package `prometheus`, unless
HUB_REQUIRE_SERVICES=1), and without promtool every metric a rule reads is one the hub's real
/metrics exposes, so renaming a figure breaks this test instead of silencing an alert.

A rule may read a metric still being written: a `# coming: <metric>` line in the rule file
names it, and such a rule is checked only once the hub exposes the metric."""

import datetime
import re
import shutil
import subprocess
from pathlib import Path
from unittest import mock

import pytest
import yaml
from django.utils import timezone

from tests.services import require
from tests.validation.world import example
from validation import enqueue
from validation.models import InboundMessage
from validation.submission import submit_message

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "ops" / "prometheus" / "hub_alerts.yml"
RULE_TESTS = ROOT / "ops" / "prometheus" / "hub_alerts_test.yml"
TOKEN = "metrics-token-for-tests-only-0123456789"

SEVERITIES = {"warning", "critical"}
# Words of PromQL that are not metric names: operators written as words and the modifiers.
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring"}
KEYWORDS |= {"group_left", "group_right", "inf", "nan", "atan2"}


def rules():
    """Every alerting rule of the file, in order."""
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def coming_metrics():
    """The metrics the rule file marks as not exposed yet (`# coming: <metric>`)."""
    return set(re.findall(r"^\s*# coming: (\S+)\s*$", RULES.read_text(), flags=re.MULTILINE))


def metric_names(expr):
    """The metric names a PromQL expression reads: its identifiers once the quoted strings,
    label matchers, ranges and grouping lists are taken out, less function names (followed
    by a parenthesis) and PromQL's own words."""
    text = re.sub(r'"[^"]*"|\'[^\']*\'', '""', expr)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text)
    grouping = r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"
    text = re.sub(grouping, " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.])[A-Za-z_:][\w:]*", text):
        called = text[match.end() :].lstrip().startswith("(")
        if not called and match.group().lower() not in KEYWORDS:
            names.add(match.group())
    return names


def exposed_names(text):
    """The metric names of a /metrics page as Prometheus stores them: every family its TYPE
    lines declare (with or without samples) and every sample's own name (a histogram's
    `_bucket`, `_gcount`, `_gsum`)."""
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            names.add(line.split()[2])
        elif line and not line.startswith("#"):
            names.add(re.match(r"[A-Za-z_:][\w:]*", line).group())
    return names


# --- the world: a scrape of the real /metrics -------------------------------------------------


def _submitted(system, message_type, key, **fields):
    with mock.patch.object(enqueue, "enqueue_validation"):
        return submit_message(
            system=system,
            message_type=message_type,
            schema_version=1,
            payload=example(message_type),
            idempotency_key=key,
        ).message


@pytest.fixture
def scraped(client, settings, erp_system, planning_system):
    """The hub's /metrics text over a small world: a forecast released ten minutes after it
    came in an hour ago, and a purchase order in dead letter."""
    settings.METRICS_TOKEN = TOKEN
    now = timezone.now()
    forecast = _submitted(planning_system, "forecast", "f1")
    InboundMessage.objects.filter(pk=forecast.pk).update(
        status="released",
        received_at=now - datetime.timedelta(hours=1),
        finished_at=now - datetime.timedelta(minutes=50),
    )
    dead = _submitted(erp_system, "purchase_order", "po-dead")
    InboundMessage.objects.filter(pk=dead.pk).update(status="dead_letter", finished_at=now)
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    return response.content.decode()


# --- without promtool -------------------------------------------------------------------------


def test_it_reads_the_metric_names_out_of_an_expression():
    rate = """(
        sum by (type) (hub_messages_received{status=~"quarantined|rejected|dead_letter"})
        / sum by (type) (hub_messages_received)
      ) > 0.10
      and sum by (type) (hub_messages_received) >= 20"""
    assert metric_names(rate) == {"hub_messages_received"}
    assert metric_names("absent(hub_metrics_collect_seconds)") == {"hub_metrics_collect_seconds"}
    ratio = "hub_a_seconds / on(team) group_left() max_over_time(hub_b[1h] offset 1d) > 2e3"
    assert metric_names(ratio) == {"hub_a_seconds", "hub_b"}


@pytest.mark.django_db
def test_every_metric_a_rule_reads_is_on_the_hubs_metrics_page(scraped):
    exposed = exposed_names(scraped)
    coming = coming_metrics()
    assert "hub_forecast_release_latency_seconds_bucket" in exposed  # the page was read whole

    checked, waiting = [], []
    for rule in rules():
        names = metric_names(rule["expr"])
        assert names, f"{rule['alert']}: no metric found in its expression"
        missing = names - exposed
        if missing and missing <= coming:
            waiting.append(rule["alert"])
            continue
        assert not missing, (
            f"{rule['alert']} reads {sorted(missing)}, which /metrics does not expose "
            "(renamed? or mark it '# coming: <metric>' in the rule file)"
        )
        checked.append(rule["alert"])

    assert "HubIntegrationFailureRateHigh" in checked
    assert "HubMetricsAbsent" in checked
    # Each metric marked coming is read by a rule (the marker names a real need, spelled as
    # the rule spells it).
    used = set().union(*(metric_names(rule["expr"]) for rule in rules()))
    assert coming <= used, f"marked coming but read by no rule: {sorted(coming - used)}"


def test_every_alert_says_how_bad_it_is_and_which_screen_to_open():
    names = [rule["alert"] for rule in rules()]
    assert len(names) == len(set(names)), "two alerts share a name"
    for rule in rules():
        name = rule["alert"]
        assert name.startswith("Hub"), name
        assert rule["labels"]["severity"] in SEVERITIES, name
        assert re.fullmatch(r"\d+[smh]", rule["for"]), name
        annotations = rule["annotations"]
        assert annotations["summary"].strip(), name
        description = annotations["description"]
        # A screen of the hub (a path) or Prometheus's own targets page.
        assert "Open " in description and re.search(r"\(/[a-z]|/healthz", description), name


def test_every_alert_has_a_unit_test_that_makes_it_fire():
    document = yaml.safe_load(RULE_TESTS.read_text())
    assert document["rule_files"] == [RULES.name]
    fired = {
        case["alertname"]
        for test in document["tests"]
        for case in test["alert_rule_test"]
        if case.get("exp_alerts")
    }
    assert {rule["alert"] for rule in rules()} == fired


# --- with promtool ----------------------------------------------------------------------------


def _promtool(*args):
    promtool = shutil.which("promtool")
    require(promtool, "promtool (Debian package prometheus)")
    return subprocess.run(
        [promtool, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def test_promtool_accepts_the_rule_file():
    done = _promtool("check", "rules", str(RULES.relative_to(ROOT)))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rules())} rules found" in done.stdout


def test_the_rules_unit_tests_pass():
    done = _promtool("test", "rules", str(RULE_TESTS.relative_to(ROOT)))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout

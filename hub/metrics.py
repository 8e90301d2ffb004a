"""/metrics: the hub's key figures (quarantine.kpis) in the Prometheus text format.

Every value is computed from the database at scrape time by one collector: nothing is counted
inside a process, so any web process answers with the same figures, whichever of them the
scraper reaches, and the workers need no endpoint of their own.

Who may read them: a scraper with the metrics token (`Authorization: Bearer
<HUB_METRICS_TOKEN>`), or a person logged in as a viewer or steward.
"""

import hmac
import logging
import math
import time

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily
from prometheus_client.utils import floatToGoString

from core.roles import STEWARD, VIEWER, has_role
from quarantine import kpis

logger = logging.getLogger(__name__)

REALM = 'Bearer realm="hub-metrics"'
NO_TOKEN = (
    "No metrics token is configured on this hub (HUB_METRICS_TOKEN is not set): only a "
    "logged-in viewer or steward can read /metrics."
)


def refusal(request):
    """None when the request may read the metrics, else the response that refuses it: 401
    without credentials or with a wrong token, 403 for a login without a hub role."""
    configured = settings.METRICS_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _refused(401, "Give the metrics token as 'Authorization: Bearer <token>'.")
        if not configured:
            return _refused(401, NO_TOKEN)
        if not hmac.compare_digest(token.strip().encode(), configured.encode()):
            return _refused(401, "The metrics token is not valid.")
        return None
    user = request.user
    if not user.is_authenticated:
        detail = "Reading /metrics needs the metrics token (Authorization: Bearer) or a login."
        return _refused(401, detail + ("" if configured else " " + NO_TOKEN))
    if not has_role(user, VIEWER, STEWARD):
        return _refused(403, "Reading /metrics needs the viewer or steward role.")
    return None


def _refused(status, detail):
    response = HttpResponse(detail + "\n", status=status, content_type="text/plain; charset=utf-8")
    if status == 401:
        response["WWW-Authenticate"] = REALM
    return response


class KpiCollector:
    """Every registered KPI as a metric family: a gauge per list of samples; for a
    distribution, a gauge histogram (buckets, count and sum over the KPI's window) and a
    gauge of its quantiles. A KPI whose query fails for a reason other than the database
    being unreachable is left out and counted, so one broken figure does not hide the rest;
    an unreachable database fails the scrape (503)."""

    def __init__(self, now=None):
        self.now = now

    def collect(self):
        now = self.now or timezone.now()
        started = time.monotonic()
        failed = 0
        for figure in kpis.KPIS:
            try:
                result = figure.evaluate(now)
            except (OperationalError, InterfaceError):
                raise  # the database is unreachable: server_error answers 503
            except Exception:
                logger.exception("KPI %s failed", figure.name)
                failed += 1
                continue
            yield from families(figure, result)
        yield GaugeMetricFamily(
            "hub_metrics_failed_kpis",
            "KPIs left out of this scrape because their query failed (see the hub's log).",
            value=failed,
        )
        yield GaugeMetricFamily(
            "hub_metrics_collect_seconds",
            "Seconds the KPI queries of this scrape took.",
            value=time.monotonic() - started,
        )


def families(figure, result):
    help_text = f"{figure.help} Window: {figure.window_text}."
    if isinstance(result, kpis.Distribution):
        yield GaugeHistogramMetricFamily(
            figure.name,
            help_text,
            buckets=[(floatToGoString(bound), count) for bound, count in result.buckets()],
            gsum_value=result.total,
        )
        quantiles = GaugeMetricFamily(
            quantile_name(figure.name),
            f"Quantiles of {figure.name} (nearest rank; none without values).",
            labels=["quantile"],
        )
        for q in kpis.QUANTILES:
            value = result.quantile(q)
            if value is not None:
                quantiles.add_metric([floatToGoString(q)], value)
        yield quantiles
        return
    family = GaugeMetricFamily(figure.name, help_text, labels=list(figure.labels))
    for sample in result:
        value = sample.value
        family.add_metric(
            [str(sample.labels[name]) for name in figure.labels],
            math.nan if value is None else value,
        )
    yield family


def quantile_name(name):
    """hub_x_seconds -> hub_x_quantile_seconds: the unit stays last."""
    if name.endswith("_seconds"):
        return name.removesuffix("_seconds") + "_quantile_seconds"
    return name + "_quantile"


def render(now=None):
    """The metrics page: a registry of its own per scrape holding only the KPI collector, so
    no figure of this process (its memory, its request counts) is mixed in."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(KpiCollector(now))
    return generate_latest(registry)


# The text format every Prometheus version reads (generate_latest writes it for the legacy
# metric names used here).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

"""The hub's Celery app: configured from Django's settings (CELERY_*), tasks found in every
app's tasks module, and tracing started in each worker process (hub.telemetry)."""

import os

from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown

from hub import telemetry

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")

app = Celery("hub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def start_tracing(**kwargs):
    """Each worker process (a prefork pool's children, the solo pool's one) starts its own
    tracing (hub.telemetry), after the fork: the exporter's thread would not survive it."""
    telemetry.configure()


@worker_process_shutdown.connect
def send_last_spans(**kwargs):
    telemetry.flush()

"""`make run` prints no avoidable warning: the embedded default (SQLite, eager Celery without
a broker) passes Django's checks cleanly and takes a producer without kombu's complaint."""

import io
import logging

from django.core.management import call_command

from hub.celery import app as celery_app


def test_it_passes_the_system_checks_without_a_warning(db):
    """SQLite ignores the INCLUDE columns of the queue's covering index (models.W040)."""
    err = io.StringIO()
    # As `migrate` runs them: with the database's own checks.
    call_command("check", databases=["default"], stdout=io.StringIO(), stderr=err)
    assert "W040" not in err.getvalue()
    assert "WARNINGS" not in err.getvalue()


def test_an_eager_task_takes_a_producer_without_a_hostname_warning(caplog):
    """Eager tasks still take a producer from kombu's pool; a broker URL without a host made
    kombu warn "No hostname was supplied" on every `make run`."""
    with caplog.at_level(logging.WARNING, logger="kombu"), celery_app.producer_or_acquire():
        pass
    assert [
        record.getMessage() for record in caplog.records if record.name.startswith("kombu")
    ] == []

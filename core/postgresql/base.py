"""Django's PostgreSQL backend, with a health check that gives up.

A connection kept from an earlier request (CONN_MAX_AGE) is checked before each request uses
it (CONN_HEALTH_CHECKS). Django's check waits for its `SELECT 1` as long as the socket stays
open, so a stalled database server held every request, /healthz included, for as long as it
stalled. This one waits HUB_DB_CHECK_TIMEOUT seconds (core.db.answers_within); a connection
that did not answer is closed, and the new one the request then opens is bounded by
connect_timeout (HUB_DB_CONNECT_TIMEOUT). The database error that follows is the 503 with
Retry-After of hub.views.server_error.
"""

from django.conf import settings
from django.db.backends.postgresql import base

from core.db import answers_within


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self):
        if self.connection is None:
            return False
        return answers_within(self.connection.pgconn, settings.HUB_DB_CHECK_TIMEOUT)

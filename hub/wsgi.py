"""The WSGI application (gunicorn hub.wsgi; runserver loads it too): the web server's
statement timeout and tracing (hub.telemetry) set before it starts."""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from hub import telemetry

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")


def bound_statements(database, seconds):
    """Have PostgreSQL end any statement of the web server's that runs longer than `seconds`
    (statement_timeout, sent once when a connection starts): a slow query answers 503 with
    Retry-After instead of holding a server thread. For the web server only, so it is set
    here: workers, imports, migrations and benchmarks run long statements by design."""
    if not seconds or database["ENGINE"] != "core.postgresql":
        return
    options = database.setdefault("OPTIONS", {})
    options["options"] = f"{options.get('options', '')} -c statement_timeout={seconds}s".strip()


bound_statements(settings.DATABASES["default"], settings.HUB_DB_STATEMENT_TIMEOUT)
# Before the application loads its middleware: the request spans' middleware goes in first.
telemetry.configure()
application = get_wsgi_application()

"""The reconciliation key is part of the service's URL (OpenRefine cannot send headers) and
only its hash is kept: no log line names it. The review found it in clear in Django's
request warnings ("Not Found: /reconcile/<key>/...") and in gunicorn's access log."""

import datetime as dt
import io
import json
import logging
import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from hub.logging import GunicornLogger
from reconcile.services import create_key

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def secret(db):
    return create_key("procurement-openrefine")[1]


class Written(io.StringIO):
    def lines(self):
        """The lines written, JSON ones decoded (HUB_LOG_FORMAT=json escapes "…")."""
        return "\n".join(
            json.dumps(json.loads(line), ensure_ascii=False) if line.startswith("{") else line
            for line in self.getvalue().splitlines()
        )


@pytest.fixture
def written():
    """What the hub's log handler (settings.LOGGING's console) writes."""
    (handler,) = [h for h in logging.getLogger().handlers if h.get_name() == "console"]
    stream = Written()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def test_a_4xx_warning_names_the_path_with_the_key_cut_short(client, secret, written, caplog):
    caplog.set_level(logging.WARNING, logger="django.request")
    assert client.get(f"/reconcile/{secret}/no-such-page").status_code == 404
    assert client.get(f"/reconcile/{secret}x/suggest/entity?prefix=a").status_code == 403
    assert client.post(f"/reconcile/{secret}/", {"queries": "{not json"}).status_code == 400
    assert client.get("/reconcile/types/nope").status_code == 404  # not a key: kept

    shown = secret[:9]
    text = written.lines()
    assert f"Not Found: /reconcile/{shown}…/no-such-page" in text
    assert f"Forbidden: /reconcile/{shown}…/suggest/entity" in text
    assert f"Bad Request: /reconcile/{shown}…/" in text
    assert "Not Found: /reconcile/types/nope" in text
    assert secret[9:] not in text
    # No record keeps it either, in its message or its fields (the request's text).
    assert len(caplog.records) == 4
    for record in caplog.records:
        assert secret[9:] not in record.getMessage()
        assert all(secret[9:] not in str(value) for value in vars(record).values())


def test_the_gunicorn_shipped_config_redacts_its_access_and_error_logs(tmp_path, secret):
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert settings["logger_class"] == "hub.logging.GunicornLogger"

    config = Config()
    config.set("logger_class", settings["logger_class"])
    config.set("accesslog", str(tmp_path / "access.log"))
    config.set("errorlog", str(tmp_path / "error.log"))
    log = config.logger_class(config)
    assert isinstance(log, GunicornLogger)
    path = f"/reconcile/{secret}/suggest/entity"
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"{path}?prefix=acme",
        "PATH_INFO": path,
        "QUERY_STRING": "prefix=acme",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
    }
    response = SimpleNamespace(status="403 Forbidden", sent=86, headers=[])
    log.access(response, SimpleNamespace(headers=[]), environ, dt.timedelta(seconds=1))
    log.error("Error handling request %s", path)
    for handler in (*log.access_log.handlers, *log.error_log.handlers):
        handler.flush()

    access = (tmp_path / "access.log").read_text()
    assert f'"GET /reconcile/{secret[:9]}…/suggest/entity?prefix=acme HTTP/1.1" 403' in access
    error = (tmp_path / "error.log").read_text()
    assert f"Error handling request /reconcile/{secret[:9]}…/suggest/entity" in error
    assert secret[9:] not in access + error

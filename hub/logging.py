"""One JSON object per log line, so log shippers need no parsing rules; and no secret in any
line: the reconciliation key, which stands in the service's URL (OpenRefine cannot send
headers), is cut to the prefix the admin shows wherever a log line or its fields name it."""

import json
import logging
import re

from gunicorn import glogging

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
# The path segment after /reconcile/ is a key, but for the two identifier spaces.
_RECONCILE_KEY = re.compile(r"(/reconcile/)(?!(?:records|types)(?:[/?#\s'\"]|$))([^/?#\s'\"]+)")
# As many characters as the admin shows (ReconciliationKey.key_prefix), to tell keys apart.
KEY_SHOWN = 9


def redact(text):
    """`text` with every reconciliation key in it cut to its first KEY_SHOWN characters."""
    if "/reconcile/" not in text:
        return text
    return _RECONCILE_KEY.sub(lambda m: f"{m[1]}{m[2][:KEY_SHOWN]}…", text)


class RedactSecrets(logging.Filter):
    """Redacts the message of a record and its extra fields (Django's request warnings carry
    the request, whose text names the path). On a handler, or on a logger that logs itself
    (gunicorn's)."""

    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format is the handler's to report
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        for key, value in list(vars(record).items()):
            if key in _STANDARD or key.startswith("_") or isinstance(value, int | float | bool):
                continue
            text = str(value)
            if redact(text) != text:
                setattr(record, key, redact(text))
        return True


class GunicornLogger(glogging.Logger):
    """gunicorn's logger with its access and error logs redacted (`logger_class` in
    gunicorn.conf.py): the access line names the path, an error the request's URI."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.access_log, self.error_log):
            if not any(isinstance(f, RedactSecrets) for f in log.filters):
                log.addFilter(RedactSecrets())


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        # Anything passed with logger.info(..., extra={...}) becomes a field of its own.
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, str | int | float | bool) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)

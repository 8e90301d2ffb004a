"""gunicorn's settings for the hub, read from the directory gunicorn is started in (the
project's root). Its access and error logs are redacted as the hub's own are: the
reconciliation key stands in the service's URL (hub.logging)."""

logger_class = "hub.logging.GunicornLogger"

"""The planning system's receiver of the demo: a small HTTP server that takes the hub's
webhooks for the demo's push subscription (`SUBSCRIPTION`, made by the seed when
settings.HUB_DEMO_RECEIVER_URL is set), checks each signature as a real receiver would
(Standard Webhooks, with the subscription's current secrets), and keeps what it got: a line
per event in its log, and a page at / listing them, newest first.

`make run` starts it (`manage.py demo_receiver`) before the seed, so the seed's supply
exceptions reach it as they are raised. It is the demo's stand-in for the planning platform,
not part of the hub: the hub reaches it only through its URL.
"""

import json
import logging
import socket
import time
from collections import deque
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.db import close_old_connections
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from events import webhooks
from events.models import Subscription

logger = logging.getLogger(__name__)

SUBSCRIPTION = "planning-supply-exceptions"
# The events the page shows (the log keeps every one).
SHOWN = 200
# The largest webhook body taken.
MAX_BODY = 1_000_000


class Received:
    """What the receiver got, newest first: a line per event."""

    def __init__(self):
        self.lines = deque(maxlen=SHOWN)
        self.ids = set()

    def add(self, headers, document):
        data = document.get("data") or {}
        repeat = headers["webhook-id"] in self.ids
        self.ids.add(headers["webhook-id"])
        order = ""
        if data.get("po_number"):
            order = f" PO {data['po_number']} line {data.get('po_line')}"
        line = (
            f"{time.strftime('%H:%M:%S')} {document.get('type')} {document.get('subject')}"
            f" (sequence {document.get('sequence')}, key {document.get('partitionkey')}){order}"
            + (f": {data['reason']}" if data.get("reason") else "")
            + (" [a repeat: the same webhook-id came before]" if repeat else "")
        )
        self.lines.appendleft(line)
        logger.info("Demo receiver: %s", line)
        return line


def verify(body, headers, subscription_name=SUBSCRIPTION):
    """The event document of a webhook whose signature one of the subscription's current
    secrets verifies; WebhookVerificationError otherwise."""
    subscription = Subscription.objects.filter(name=subscription_name).first()
    secrets = webhooks.signing_secrets(subscription) if subscription else []
    for secret in secrets:
        try:
            return Webhook(secret).verify(body, headers)
        except WebhookVerificationError:
            continue
    raise WebhookVerificationError("No current secret of the subscription verifies it.")


def handler_for(received, subscription_name=SUBSCRIPTION):
    """The request handler class of a receiver keeping what it gets in `received`."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                return self._answer(413, {"error": "too large"})
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            close_old_connections()
            try:
                document = verify(body, headers, subscription_name)
            except (WebhookVerificationError, KeyError) as exc:
                logger.warning("Demo receiver refused a webhook: %s", exc)
                return self._answer(401, {"error": f"signature not verified: {exc}"})
            finally:
                close_old_connections()
            line = received.add(headers, document)
            return self._answer(200, {"received": headers.get("webhook-id"), "logged": line})

        def do_GET(self):
            rows = "".join(f"<li>{escape(line)}</li>" for line in received.lines)
            page = (
                "<!doctype html><meta charset=utf-8><title>Planning system: events received</title>"
                "<h1>Planning system: events received from the hub</h1>"
                f"<p>{len(received.lines)} shown, newest first; each signature verified.</p>"
                f"<ol>{rows or '<li>None yet.</li>'}</ol>"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def _answer(self, status, body):
            text = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, format, *args):  # the hub's log has what matters
            return

    return Handler


def server(host, port, subscription_name=SUBSCRIPTION):
    """A receiver listening on (host, port); serve_forever() runs it. Its `received` holds
    what it got."""
    received = Received()
    httpd = ThreadingHTTPServer((host, port), handler_for(received, subscription_name))
    httpd.received = received
    return httpd


def wait_until_up(host, port, timeout=10.0):
    """True once something answers on (host, port), False after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False

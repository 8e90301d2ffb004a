"""Statements of the hot path, prepared once per database connection on PostgreSQL.

Django's psycopg cursors bind parameters on the client, so PostgreSQL plans every statement
afresh. For the small statements every API call makes (the key lookup, a single resolve),
planning costs more than running them: the key lookup measured 1.06 ms of planning against
0.2 ms of execution. `fetch_prepared` runs such a statement through a server-side binding
cursor with `prepare=True`, so the plan is made once per connection and reused.

Preparing needs the connection's `prepare_threshold` set, which hub.settings does on
PostgreSQL; Django's own cursors bind on the client and never prepare, so nothing else
changes. HUB_DB_PREPARE=0 turns it off, for a connection pooler that cannot keep prepared
statements (PgBouncer in transaction mode); other databases always take Django's cursor.
"""

import datetime
import selectors
import time

import psycopg
from django.conf import settings
from django.db import connection
from django.db.models import Q
from psycopg import pq


def fetch_prepared(sql, params):
    """All rows of `sql` (with %s placeholders) for `params`."""
    if connection.vendor != "postgresql" or not settings.HUB_DB_PREPARE:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    # As Django's own cursor() does: a connection kept from an earlier request is checked
    # first (CONN_HEALTH_CHECKS), so one the database dropped (a restart) is replaced, not
    # used and failed on.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    started = time.monotonic()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        rows = cursor.fetchall()
    if connection.queries_logged:  # counted like every other query (debug, query counts)
        connection.queries_log.append(
            {"sql": f"{sql} -- {params!r}", "time": f"{time.monotonic() - started:.3f}"}
        )
    return rows


def answers_within(pgconn, seconds):
    """Whether the open libpq connection `pgconn` answers `SELECT 1` within `seconds`.

    psycopg waits for an answer as long as the socket stays open, and a database server that
    is stalled (stopped, frozen, its disk hung) keeps it open: the kernel still acknowledges
    what is sent, so neither TCP keepalives nor tcp_user_timeout notice, and its own
    statement_timeout cannot fire. So the check sends the query itself and gives up at the
    deadline; the connection is then in an unknown state and must be closed by the caller.
    """
    deadline = time.monotonic() + seconds
    try:
        pgconn.send_query(b"SELECT 1")
        with selectors.DefaultSelector() as selector:
            selector.register(pgconn.socket, selectors.EVENT_READ | selectors.EVENT_WRITE)
            while pgconn.flush():  # non-blocking: 1 while part of the query is unsent
                if not selector.select(max(deadline - time.monotonic(), 0)):
                    return False
            selector.modify(pgconn.socket, selectors.EVENT_READ)
            answered = True
            while True:
                while pgconn.is_busy():
                    if not selector.select(max(deadline - time.monotonic(), 0)):
                        return False
                    pgconn.consume_input()
                result = pgconn.get_result()
                if result is None:
                    return answered
                answered = answered and result.status == pq.ExecStatus.TUPLES_OK
    except psycopg.Error:
        return False


def take_unsent(queryset, *fields, now, limit=1000):
    """The rows of `queryset` (work waiting for its Celery task: import runs, bulk runs) whose
    task was sent HUB_REQUEUE_SECONDS ago or more, or never, as dicts of `fields`; each row
    is taken with a conditional UPDATE of its `enqueued_at` to `now`, so of two sweeps one
    sends it again. The task's own claim makes a second delivery harmless."""
    cutoff = now - datetime.timedelta(seconds=settings.HUB_REQUEUE_SECONDS)
    waiting = (
        queryset.filter(
            Q(enqueued_at__lt=cutoff) | Q(enqueued_at__isnull=True, created_at__lt=cutoff)
        )
        .order_by("created_at")
        .values("pk", "enqueued_at", *fields)[:limit]
    )
    return [
        row
        for row in list(waiting)
        if queryset.filter(pk=row["pk"], enqueued_at=row["enqueued_at"]).update(enqueued_at=now)
    ]

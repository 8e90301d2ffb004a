"""Database helpers: the hot path's statements prepared once per connection
(`fetch_prepared`), "one of these values" as one array parameter (`one_of` for raw
statements, `__in_array` for querysets), a health check that gives up (`answers_within`),
the sweep of work whose task was never sent (`take_unsent`), and counts per time bucket as
conditional aggregates (`counts_between`).

Prepared statements, on PostgreSQL. Django's psycopg cursors bind parameters on the client,
so PostgreSQL plans every statement afresh. For the small statements every API call makes
(the key lookup, a single resolve), planning costs more than running them: the key lookup
measured 1.06 ms of planning against 0.2 ms of execution. `fetch_prepared` runs such a
statement through a server-side binding cursor with `prepare=True`, so the plan is made once
per connection and reused.

Preparing needs the connection's `prepare_threshold` set, which hub.settings does on
PostgreSQL; Django's own cursors bind on the client and never prepare, so nothing else
changes. HUB_DB_PREPARE=0 turns it off, for a connection pooler that cannot keep prepared
statements (PgBouncer in transaction mode); other databases always take Django's cursor.

Why not Django's `server_side_binding` option, which lets psycopg prepare every statement a
connection repeats: measured on bench_resolve's data, it is as fast here (a single resolve
1.7-2.6 ms either way, against 3.6-5.1 ms bound on the client), but it binds every ORM
statement on the server too, and a statement may then carry at most 65,535 parameters: an
`__in` of 70,000 ids fails (tried), as would a bulk_create or bulk_update whose rows times
columns pass that. Preparing these few statements keeps that ceiling away from the rest.
"""

import datetime
import json
import selectors
import time

import psycopg
from django.conf import settings
from django.db import connection
from django.db.models import Count, Field, Q
from django.db.models.lookups import In
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


ARRAY_TYPES = {str: "text", int: "bigint", float: "double precision"}


def one_of(column, values, kind):
    """(SQL condition that `column` is one of `values`, its parameters) for a raw statement:
    one parameter however many values, so 50,000 keys neither bloat the statement nor pass
    SQLite's variable limit, and its text stays the same for any number of them. On
    PostgreSQL `= ANY(array)`, which an index serves; `kind` (str, int or float) is the
    values' type. On SQLite an IN over the values as one JSON list."""
    values = list(values)
    if connection.vendor != "postgresql":
        return f"{column} IN (SELECT value FROM json_each(%s))", [json.dumps(values)]
    if kind is int:  # an array literal: quicker for the driver than a list of 50,000 ints
        return f"{column} = ANY(%s::bigint[])", ["{" + ",".join(str(int(v)) for v in values) + "}"]
    return f"{column} = ANY(%s::{ARRAY_TYPES[kind]}[])", [values]


@Field.register_lookup
class InArray(In):
    """`field__in_array=values`: what `__in` finds, for querysets, sent to PostgreSQL as one
    array parameter (`= ANY(%s)`, as `one_of` does for raw statements) instead of a
    placeholder per value. An import looks records up a few thousand keys at a time;
    building, quoting and parsing a statement with thousands of placeholders cost more than
    the lookup itself. Other databases get the plain IN. Registered when core.db is first
    imported (core's AppConfig.ready)."""

    lookup_name = "in_array"

    def as_postgresql(self, compiler, connection):
        if not isinstance(self.rhs, list | tuple | set | frozenset) or not self.rhs:
            return super().as_sql(compiler, connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        output = self.lhs.output_field
        values = [
            output.get_db_prep_value(value, connection, prepared=True)
            for value in self.rhs
            if value is not None
        ]
        return f"{lhs} = ANY(%s)", (*lhs_params, values)


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


def counts_between(column, bounds):
    """{key: Count} for .aggregate() or .annotate(): per key of `bounds` ({key: (after, at or
    before)}, either None for open-ended), the rows whose `column` lies between. One grouped
    query counts every bucket (the aging charts' bars)."""
    counts = {}
    for key, (after, until) in bounds.items():
        condition = Q()
        if after is not None:
            condition &= Q(**{f"{column}__gt": after})
        if until is not None:
            condition &= Q(**{f"{column}__lte": until})
        counts[key] = Count("pk", filter=condition)
    return counts

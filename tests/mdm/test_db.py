"""Hot-path statements: prepared once per connection on PostgreSQL, the same rows either way."""

import pytest
from django.db import DatabaseError, connection, connections

from core.db import fetch_prepared
from tests.services import require

SUM = "SELECT CAST(%s AS INTEGER) + 1, %s"


def test_it_gives_the_rows_of_the_statement(db):
    assert fetch_prepared(SUM, [41, "bolt"]) == [(42, "bolt")]


def test_it_gives_the_same_rows_without_preparing(db, settings):
    settings.HUB_DB_PREPARE = False
    assert fetch_prepared(SUM, [1, "nut"]) == [(2, "nut")]


def test_a_bad_statement_raises_djangos_database_error(db):
    with pytest.raises(DatabaseError):
        fetch_prepared("SELECT * FROM no_such_table WHERE id = %s", [1])


def test_postgresql_plans_a_statement_once_per_connection(db):
    require(connection.vendor == "postgresql", "PostgreSQL")
    for number in range(3):
        assert fetch_prepared(SUM, [number, "x"]) == [(number + 1, "x")]

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%CAST($1 AS INTEGER) + 1%"],
        )
        assert cursor.fetchone()[0] == 1


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_database_dropped_is_replaced_at_the_next_request():
    """After a database restart, a kept connection is checked (CONN_HEALTH_CHECKS) before a
    prepared statement uses it: the request is answered, not failed."""
    require(connection.vendor == "postgresql", "PostgreSQL")
    assert fetch_prepared(SUM, [1, "a"]) == [(2, "a")]
    pid = connection.connection.info.backend_pid
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()
    connection.close_if_unusable_or_obsolete()  # what a new request does first
    assert fetch_prepared(SUM, [2, "b"]) == [(3, "b")]
    assert connection.connection.info.backend_pid != pid

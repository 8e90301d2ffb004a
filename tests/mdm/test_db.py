"""Hot-path statements: prepared once per connection on PostgreSQL, the same rows either way."""

import pytest
from django.db import DatabaseError, connection

from mdm.db import fetch_prepared
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

"""The model's unique and check constraints, judged for a chunk of rows at once: one query per
constraint and chunk, not one per row as `Model.validate_constraints()` makes.

A check constraint's condition (and a conditional unique constraint's) is evaluated by the
database over the chunk's values, given as a table of the same name as the model's (a
WITH clause), so the condition's SQL is Django's own. Unique fields and unique constraints
are looked up among the stored records in one query each; the file's own repeats are found
in file order by the settling (imports.settling), from the digests this leaves on each row.
"""

import hashlib

from django.db import connection
from django.db.models import CheckConstraint, UniqueConstraint
from django.db.models.sql import Query


def unique_checks(model):
    """(fields, condition, constraint) for every unique field and unique constraint of the
    model, read from its definition."""
    checks = []
    for model_field in model._meta.concrete_fields:
        if model_field.unique and not model_field.primary_key:
            checks.append(((model_field.name,), None, None))
    for constraint in model._meta.constraints:
        if isinstance(constraint, UniqueConstraint) and constraint.fields:
            checks.append((tuple(constraint.fields), constraint.condition, constraint))
    return checks


def check_constraints(model):
    return [c for c in model._meta.constraints if isinstance(c, CheckConstraint)]


def digest(values):
    return hashlib.blake2b(repr(values).encode(), digest_size=8).hexdigest()


def evaluate(model, condition, instances):
    """The condition's value (True, False or None: SQL's unknown) on each instance, in one
    query (a few, for a chunk larger than the database takes parameters)."""
    if not instances:
        return []
    meta = model._meta
    query = Query(model, alias_cols=True)
    where = query.build_where(condition)
    compiler = query.get_compiler(connection=connection)
    sql, condition_params = compiler.compile(where)
    if not sql:
        return [True] * len(instances)
    fields = [meta.get_field(name) for name in sorted(condition.referenced_base_fields)]
    quote = connection.ops.quote_name
    columns = ", ".join(["n", *(quote(f.column) for f in fields)])
    values = [
        [f.get_db_prep_value(getattr(instance, f.attname), connection) for instance in instances]
        for f in fields
    ]
    if connection.vendor == "postgresql":
        # A column's values as one array parameter: a statement with a placeholder per value
        # costs more to build and parse than the check itself.
        arrays = ", ".join(
            ["%s::integer[]", *(f"%s::{f.cast_db_type(connection)}[]" for f in fields)]
        )
        batches = [(f"SELECT * FROM unnest({arrays})", [list(range(len(instances))), *values])]
    else:
        cells = ", ".join(["%s", *(f"CAST(%s AS {f.cast_db_type(connection)})" for f in fields)])
        limit = connection.features.max_query_params or 60_000
        per_query = max((limit - len(condition_params)) // (len(fields) + 1), 1)
        batches = []
        for start in range(0, len(instances), per_query):
            stop = min(start + per_query, len(instances))
            params = []
            for index in range(start, stop):
                params += [index, *(column[index] for column in values)]
            rows = ", ".join([f"({cells})"] * (stop - start))
            batches.append((f"VALUES {rows}", params))
    results = [None] * len(instances)
    table = quote(meta.db_table)
    with connection.cursor() as cursor:
        for rows, params in batches:
            cursor.execute(
                f"WITH {table} ({columns}) AS ({rows}) SELECT n, {sql} FROM {table}",
                [*params, *condition_params],
            )
            for index, value in cursor.fetchall():
                results[index] = None if value is None else bool(value)
    return results

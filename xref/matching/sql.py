"""SQL a match's statements share: a list of values side by side as the rows of a FROM item.

A match makes half a dozen statements with lists of keys or ids in them. On PostgreSQL a
list goes as one array parameter, so each statement's text is fixed and prepared once per
connection (core.db.fetch_prepared): a list of a few hundred placeholders costs more to
convert on the client and to plan than to run. Other databases get the same statements
with the list written out. A condition that a column is one of a list is `core.db.one_of`.
"""

from django.db import connection

from core.db import ARRAY_TYPES


def value_rows(*columns):
    """(SQL, params) of a FROM item `v` whose rows are the columns' values side by side
    (v.column1, v.column2, ...); each column is (values, type), none empty."""
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%s::{ARRAY_TYPES[kind]}[]" for _, kind in columns)
        names = ", ".join(f"column{n}" for n in range(1, len(columns) + 1))
        return f"unnest({arrays}) AS v({names})", [list(values) for values, _ in columns]
    cells = ", ".join(f"CAST(%s AS {ARRAY_TYPES[kind]})" for _, kind in columns)
    rows = list(zip(*(values for values, _ in columns), strict=True))
    params = [value for row in rows for value in row]
    return f"(VALUES {', '.join(f'({cells})' for _ in rows)}) AS v", params

"""`field__in_array=values`: what `__in` finds, sent to PostgreSQL as one array parameter
(`= ANY(%s)`) instead of a placeholder per value. An import looks records up a few thousand
keys at a time; building, quoting and parsing a statement with thousands of placeholders
cost more than the lookup itself. Other databases get the plain IN."""

from django.db.models import Field
from django.db.models.lookups import In


@Field.register_lookup
class InArray(In):
    lookup_name = "in_array"

    def as_postgresql(self, compiler, connection):
        if not isinstance(self.rhs, (list, tuple, set, frozenset)) or not self.rhs:
            return super().as_sql(compiler, connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        output = self.lhs.output_field
        values = [
            output.get_db_prep_value(value, connection, prepared=True)
            for value in self.rhs
            if value is not None
        ]
        return f"{lhs} = ANY(%s)", (*lhs_params, values)

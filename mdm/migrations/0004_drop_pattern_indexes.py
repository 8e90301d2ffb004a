"""Drop the LIKE (varchar_pattern_ops) indexes PostgreSQL gets beside the unique index of a
public id and of an item or supplier number, and beside the history's change reference.

Django adds them for prefix searches (`startswith`); the hub looks these columns up by exact
value only (the admin's case-insensitive search cannot use them either). Each costs every
insert: a million-row import wrote three needless indexes. Only PostgreSQL has them.
"""

from django.db import migrations

COLUMNS = ("public_id", "number", "change_reference")


def drop_pattern_indexes(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in apps.get_app_config("mdm").get_models():
            table = model._meta.db_table
            for field in model._meta.local_concrete_fields:
                if field.column not in COLUMNS:
                    continue
                cursor.execute(
                    "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
                    "AND tablename = %s AND indexdef LIKE %s",
                    [table, f"%USING btree ({field.column} varchar_pattern_ops)"],
                )
                for (name,) in cursor.fetchall():
                    schema_editor.execute(f"DROP INDEX IF EXISTS {connection.ops.quote_name(name)}")


class Migration(migrations.Migration):
    dependencies = [("mdm", "0003_lean_history_indexes")]

    # Reversed, nothing is put back: the indexes served no query of the hub.
    operations = [migrations.RunPython(drop_pattern_indexes, migrations.RunPython.noop)]

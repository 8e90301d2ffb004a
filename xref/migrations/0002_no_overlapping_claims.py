"""On PostgreSQL the database itself refuses two active references claiming one
(system, kind, scope, code) on a shared day, so concurrent registrations cannot both win.
Other databases rely on CrossReference.clean() and the registration service's lock."""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE xref_crossreference ADD CONSTRAINT xref_no_overlapping_claims
    EXCLUDE USING gist (
        system_id WITH =, kind WITH =, scope WITH =, code WITH =,
        daterange(valid_from, valid_to, '[)') WITH &&
    ) WHERE (status = 'active');
"""
DROP = "ALTER TABLE xref_crossreference DROP CONSTRAINT IF EXISTS xref_no_overlapping_claims;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("xref", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]

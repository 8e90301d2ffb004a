"""Fill the CaseKey rows and the search text of the cases opened before they existed."""

from django.db import migrations


def fill(apps, schema_editor):
    from quarantine.receivers import search_text
    from quarantine.services import case_keys

    Case = apps.get_model("quarantine", "QuarantineCase")
    CaseKey = apps.get_model("quarantine", "CaseKey")
    cases = Case.objects.filter(search_text="").select_related("message").order_by("pk")
    for case in cases.iterator(chunk_size=500):
        Case.objects.filter(pk=case.pk).update(search_text=search_text(case, case.message))
        if case.status in ("open", "in_review"):
            CaseKey.objects.bulk_create(
                [
                    CaseKey(case_id=case.pk, system_id=case.system_id, kind=kind, code=code)
                    for kind, code in case_keys(case)
                ],
                ignore_conflicts=True,
            )


class Migration(migrations.Migration):
    dependencies = [("quarantine", "0002_review_keys_sla_bulk")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]

from django.db import migrations
from django.db.models import OuterRef, Subquery


def date_revision_one_at_receipt(apps, schema_editor):
    """Revision 1 is the payload as sent: it was dated when the first edit was saved; date it
    when the message was received."""
    InboundMessage = apps.get_model("validation", "InboundMessage")
    PayloadRevision = apps.get_model("validation", "PayloadRevision")
    received = InboundMessage.objects.filter(pk=OuterRef("message_id")).values("received_at")
    PayloadRevision.objects.filter(number=1).update(created_at=Subquery(received[:1]))


class Migration(migrations.Migration):
    dependencies = [
        ("validation", "0008_message_document_order"),
    ]

    operations = [
        migrations.RunPython(
            date_revision_one_at_receipt, migrations.RunPython.noop, elidable=True
        ),
    ]

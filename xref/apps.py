from django.apps import AppConfig
from django.db.models.signals import post_save


class XrefConfig(AppConfig):
    name = "xref"
    verbose_name = "Cross-references"

    def ready(self):
        from xref.models import CrossReference
        from xref.signals import announce_reference_saved

        post_save.connect(
            announce_reference_saved, sender=CrossReference, dispatch_uid="xref.announce"
        )
        # The match index follows every save and delete of items, suppliers and locations.
        from xref import matching

        matching.connect_signals()
        # ...and every save or delete queues a duplicate check once it commits.
        from xref import duplicates

        duplicates.connect_signals()
        # Cross-reference and merge events, and the consumers' codes in every event's data.
        from xref import events

        events.connect_signals()
        # Changes of cross-references a policy says need approval wait for a second person.
        from xref import governed

        governed.register()

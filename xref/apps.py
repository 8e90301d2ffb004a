from django.apps import AppConfig
from django.db.models.signals import post_save


class XrefConfig(AppConfig):
    name = "xref"
    verbose_name = "Cross-references"

    def ready(self):
        from mdm.signals import demo_seeded
        from xref import demo
        from xref.models import CrossReference
        from xref.signals import announce_reference_saved

        post_save.connect(
            announce_reference_saved, sender=CrossReference, dispatch_uid="xref.announce"
        )
        # The match index follows every save and delete of items, suppliers and locations.
        # The demo seed bulk-inserts (no signals), so its new records are indexed after it;
        # connected before the references' receiver, whose summary row stays the last.
        from xref import matching

        matching.connect_signals()
        demo_seeded.connect(matching.index_after_demo, dispatch_uid="xref.match_demo")
        demo_seeded.connect(demo.seed_demo_references, dispatch_uid="xref.demo")

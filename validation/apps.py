from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ValidationConfig(AppConfig):
    name = "validation"
    verbose_name = "Transaction validation"

    def ready(self):
        from mdm.roles import sync_role_permissions
        from mdm.signals import demo_seeded
        from validation import demo

        # After xref's receiver (xref is made ready first: it comes before validation in
        # INSTALLED_APPS), so the demo cross-references exist; the messages themselves go in
        # once the seed has committed.
        demo_seeded.connect(demo.seed_demo_messages, dispatch_uid="validation.demo")

        # mdm gives the roles their permissions after its own migrations, before this app's
        # permissions exist on a fresh database; give them again once they do.
        def sync_roles(sender, **kwargs):
            sync_role_permissions()

        post_migrate.connect(
            sync_roles, sender=self, dispatch_uid="validation.sync_roles", weak=False
        )

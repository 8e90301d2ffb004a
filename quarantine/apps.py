from django.apps import AppConfig
from django.db.models.signals import post_migrate


class QuarantineConfig(AppConfig):
    name = "quarantine"
    verbose_name = "Quarantine"

    def ready(self):
        from mdm.roles import sync_role_permissions
        from quarantine.receivers import open_case
        from validation.signals import message_outcome

        message_outcome.connect(open_case, dispatch_uid="quarantine.open_case")

        # As in validation: the roles get this app's permissions once they exist.
        def sync_roles(sender, **kwargs):
            sync_role_permissions()

        post_migrate.connect(
            sync_roles, sender=self, dispatch_uid="quarantine.sync_roles", weak=False
        )

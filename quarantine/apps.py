from django.apps import AppConfig
from django.db.models.signals import post_migrate


class QuarantineConfig(AppConfig):
    name = "quarantine"
    verbose_name = "Quarantine"

    def ready(self):
        from core.roles import sync_role_permissions
        from mdm.signals import record_status_changed
        from quarantine import impacts  # noqa: F401 (registers the change requests' impact)
        from quarantine.receivers import (
            open_case,
            replay_after_merge,
            replay_after_reference,
            replay_after_release,
            replay_after_status,
            replay_after_unmerge,
        )
        from validation.signals import message_outcome
        from xref.signals import records_merged, records_unmerged, reference_changed

        message_outcome.connect(open_case, dispatch_uid="quarantine.open_case")
        message_outcome.connect(
            replay_after_release, dispatch_uid="quarantine.replay_after_release"
        )
        reference_changed.connect(
            replay_after_reference, dispatch_uid="quarantine.replay_after_reference"
        )
        record_status_changed.connect(
            replay_after_status, dispatch_uid="quarantine.replay_after_status"
        )
        records_merged.connect(replay_after_merge, dispatch_uid="quarantine.replay_after_merge")
        records_unmerged.connect(
            replay_after_unmerge, dispatch_uid="quarantine.replay_after_unmerge"
        )

        # As in validation: the roles get this app's permissions once they exist.
        def sync_roles(sender, **kwargs):
            sync_role_permissions()

        post_migrate.connect(
            sync_roles, sender=self, dispatch_uid="quarantine.sync_roles", weak=False
        )

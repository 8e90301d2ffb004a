from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "imports"
    verbose_name = "CSV imports"

    def ready(self):
        from changes import registry
        from imports import approval

        registry.batch(
            registry.Batch(
                approval.BATCH,
                "CSV import runs",
                apply=approval.apply_approved,
                describe=approval.describe,
            )
        )

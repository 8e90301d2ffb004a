from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "imports"
    verbose_name = "CSV imports"

    def ready(self):
        from imports import lookups  # noqa: F401 (registers __in_array)

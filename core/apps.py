from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Plumbing with no domain models of its own: API authentication and roles, API helpers
    (problem-details errors, parsers, pagination), database helpers, the change source."""

    name = "core"
    verbose_name = "Hub plumbing"

    def ready(self):
        from core import db, history, roles  # noqa: F401  (__in_array; signal receivers)

from django.apps import AppConfig


class MdmConfig(AppConfig):
    name = "mdm"
    verbose_name = "Master data"

    def ready(self):
        from mdm import history, roles  # noqa: F401  (signal receivers)
        from mdm.signals import connect_status_signals

        connect_status_signals()

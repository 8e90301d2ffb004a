from django.apps import AppConfig


class MdmConfig(AppConfig):
    name = "mdm"
    verbose_name = "Master data"

    def ready(self):
        from mdm.signals import connect_status_signals

        connect_status_signals()

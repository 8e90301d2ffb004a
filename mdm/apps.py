from django.apps import AppConfig


class MdmConfig(AppConfig):
    name = "mdm"
    verbose_name = "Master data"

    def ready(self):
        from mdm import events, governed
        from mdm.signals import connect_status_signals

        connect_status_signals()
        # Every save of an item, supplier or location publishes its events (mdm.events).
        events.connect_signals()
        # Changes of the records a policy says need approval wait for a second person.
        governed.register()

from django.apps import AppConfig


class EdiConfig(AppConfig):
    name = "edi"
    verbose_name = "EDI gateway"

    def ready(self):
        from edi import outbound
        from validation.signals import message_outcome

        # A released purchase order for a supplier that trades by EDI goes out as an 850 or
        # ORDERS (edi.outbound).
        message_outcome.connect(outbound.on_outcome, dispatch_uid="edi.outbound")

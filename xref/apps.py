from django.apps import AppConfig


class XrefConfig(AppConfig):
    name = "xref"
    verbose_name = "Cross-references"

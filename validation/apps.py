import importlib

from django.apps import AppConfig
from django.db.models.signals import post_migrate

# The data migrations that seed the rules every deployment starts with.
RULE_SEEDS = (
    "0002_seed_rules",
    "0006_seed_control_rules",
    "0013_seed_forecast_acceptance_rules",
)


def seed_rules_again(sender, **kwargs):
    """post_migrate: the rules are rows seeded by data migrations, so a flushed database
    (`manage.py flush`, which also ends every transactional test) would validate with no rule
    at all and release everything. Seeded again as the migrations seed them when none is
    left; a steward's changes and deletions of single rules stand."""
    from django.apps import apps

    from validation.models import Rule

    if Rule.objects.exists():
        return
    for name in RULE_SEEDS:
        importlib.import_module(f"validation.migrations.{name}").seed_rules(apps, None)


class ValidationConfig(AppConfig):
    name = "validation"
    verbose_name = "Transaction validation"

    def ready(self):
        from core.roles import sync_role_permissions
        from validation import governance
        from validation.merging import move_ledger, move_ledger_back
        from validation.registry import load_rules
        from xref.signals import records_merged, records_unmerged

        # The rules every message is validated against, from the modules that define them.
        load_rules()
        # Plan policies and rules a change request may hold for approval.
        governance.register()

        # The ledger's rows follow a merged master record to the survivor, and back.
        records_merged.connect(move_ledger, dispatch_uid="validation.move_ledger")
        records_unmerged.connect(move_ledger_back, dispatch_uid="validation.move_ledger_back")

        # mdm gives the roles their permissions after its own migrations, before this app's
        # permissions exist on a fresh database; give them again once they do.
        def sync_roles(sender, **kwargs):
            sync_role_permissions()

        post_migrate.connect(
            sync_roles, sender=self, dispatch_uid="validation.sync_roles", weak=False
        )
        post_migrate.connect(seed_rules_again, sender=self, dispatch_uid="validation.rules")

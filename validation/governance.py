"""Validation's records that a change request may hold (changes.registry): plan policies
(per planning system) and rules (their severity, team, tolerance, whether they run)."""

from changes.registry import Governed, govern


def _plan_words(policy):
    plan = policy.plan_id or "every plan"
    return f"Plan policy of {plan} ({policy.system.name}, {policy.system.code})"


def _rule_words(rule):
    return f"{rule.description or rule.code} ({rule.code})"


def register():
    govern(
        Governed(
            "validation.planpolicy",
            "Plan policies",
            fields=(
                ("horizon_weeks", "horizon (weeks)"),
                ("frozen_fence_days", "frozen fence (days)"),
                ("change_threshold_percent", "change threshold (%)"),
                ("change_threshold_quantity", "change threshold (quantity)"),
            ),
            system="system__code",
            describe=_plan_words,
        )
    )
    govern(
        Governed(
            "validation.rule",
            "Validation rules",
            fields=(
                ("severity", "severity"),
                ("team", "team"),
                ("enabled", "whether it runs"),
                ("tolerance_percent", "tolerance (%)"),
            ),
            describe=_rule_words,
        )
    )

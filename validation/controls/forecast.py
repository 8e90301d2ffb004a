"""Forecast controls: a newer version than the last released, periods within the horizon,
no change inside the frozen fence without a planner's approval, and selective synchronization
(changes below the plan's thresholds left out of the release). And the ERP's answer to a
release (forecast_acceptance): it names a plan and version the hub released, and it comes
from an ERP."""

from mdm.models import SourceSystem
from validation.controls.common import (
    ACCEPTANCE,
    FORECAST,
    NOT_ACTIONABLE,
    date_or_none,
    is_layout,
    ledger_of,
    plain,
    readable,
)
from validation.registry import Finding, rule

# Versions a FORECAST_RELEASE_UNKNOWN sentence lists before it says how many more there are.
VERSIONS_SHOWN = 5


@rule("STALE_FORECAST_VERSION", applies=lambda layout: is_layout(layout, FORECAST))
def stale_forecast_version(facts, obj):
    """A forecast version is newer than the last one released for its plan."""
    ledger = ledger_of(facts)
    if facts.header is not None or ledger is None or ledger.forecast is None:
        return
    plan = ledger.forecast
    if plan.last is None or not isinstance(plan.version, int) or plan.version > plan.last.version:
        return
    yield Finding(
        "version",
        plan.version,
        f"Plan {plan.plan_id} version {plan.version} is not newer than version "
        f"{plan.last.version}, released on {plan.last.released_at:%Y-%m-%d} as "
        f"{plan.last.message.public_id}; an older or equal version is never released again.",
        f"Send the plan as version {plan.last.version + 1} or later.",
    )


@rule("FORECAST_PERIOD_OUTSIDE_HORIZON", applies=lambda layout: is_layout(layout, FORECAST))
def forecast_period_outside_horizon(facts, obj):
    """A forecast line's period lies within the planning horizon: the plan policy's number of
    weeks from the horizon start, else the forecast's own horizon."""
    ledger = ledger_of(facts)
    if facts.header is None or ledger is None or ledger.forecast is None:
        return
    plan = ledger.forecast
    period = date_or_none(obj.get("period_start"))
    if period is None or plan.start is None or plan.horizon_end is None:
        return
    if plan.start <= period <= plan.horizon_end:
        return
    source = (
        f"the plan's {plan.policy.horizon_weeks}-week horizon"
        if plan.policy is not None and plan.policy.horizon_weeks
        else "the forecast's horizon"
    )
    yield Finding(
        "period_start",
        obj.get("period_start"),
        f"Period {period.isoformat()} lies outside {source} ({plan.start.isoformat()} to "
        f"{plan.horizon_end.isoformat()}).",
        "Leave the period out, or extend the plan's horizon in its policy.",
    )


@rule("FROZEN_FENCE_CHANGE", applies=lambda layout: is_layout(layout, FORECAST))
def frozen_fence_change(facts, obj):
    """A forecast line inside the plan's frozen fence does not change against the last released
    version (a change is held for a planner's approval)."""
    plan = _comparing(facts)
    if plan is None or plan.fence_end is None:
        return
    period = date_or_none(obj.get("period_start"))
    if period is None or period >= plan.fence_end:
        return
    found = plan.change(obj)
    if found is None:
        return
    released, quantity, change = found
    if change == 0 or not plan.actionable(released, change):
        return
    before = "nothing" if released == 0 else readable(released)
    if change is None:
        before = "a quantity in another unit"
    yield Finding(
        "quantity",
        obj.get("quantity"),
        f"Period {period.isoformat()} is inside the frozen fence ({plan.policy.frozen_fence_days} "
        f"days from {plan.start.isoformat()}); version {plan.version} changes it to "
        f"{readable(quantity)} from {before} in version {plan.last.version}.",
        "A planner approves the change (release by override) or sends the frozen periods "
        "unchanged.",
    )


@rule(NOT_ACTIONABLE, applies=lambda layout: is_layout(layout, FORECAST))
def change_not_actionable(facts, obj):
    """Selective synchronization: a forecast line whose change against the last released
    version is below the plan's thresholds is left out of the released payload."""
    plan = _comparing(facts)
    if plan is None or (plan.percent <= 0 and plan.quantity <= 0):
        return
    found = plan.change(obj)
    if found is None:
        return
    released, quantity, change = found
    if plan.actionable(released, change):
        return
    percent = f"{change * 100 / released:+.1f} %" if released else "0 %"
    yield Finding(
        "quantity",
        obj.get("quantity"),
        f"Changed by {readable(change)} ({percent}) against version {plan.last.version}: below "
        f"the plan's thresholds ({plain(plan.percent)} % and {plain(plan.quantity)}).",
        None,
        {"released_quantity": plain(released)},
    )


def _comparing(facts):
    ledger = ledger_of(facts)
    if facts.header is None or ledger is None or ledger.forecast is None:
        return None
    plan = ledger.forecast
    return plan if plan.compares else None


# --- the ERP's acceptance of a release ------------------------------------------------------


@rule("FORECAST_RELEASE_UNKNOWN", applies=lambda layout: is_layout(layout, ACCEPTANCE))
def forecast_release_unknown(facts, obj):
    """A forecast acceptance names a plan and version the hub released."""
    ledger = ledger_of(facts)
    if facts.header is not None or ledger is None or ledger.acceptance is None:
        return
    plan = ledger.acceptance
    if not isinstance(plan.version, int) or plan.released:
        return
    if not plan.releases:
        similar = plan.similar_plans()
        yield Finding(
            "plan_id",
            plan.plan_id,
            f"The hub never released a forecast of plan {plan.plan_id}, so there is no "
            f"version {plan.version} of it to accept or reject.",
            f"Did you mean plan {' or '.join(similar)}? Send the plan id exactly as the "
            "released forecast has it."
            if similar
            else "Send the plan id and version exactly as the released forecast has them.",
        )
        return
    latest, released_at, public_id = plan.releases[-1]
    versions = [version for version, _, _ in plan.releases]
    earlier = [version for version in versions if version < plan.version]
    suggested = earlier[-1] if earlier else latest
    yield Finding(
        "version",
        plan.version,
        f"The hub never released plan {plan.plan_id} version {plan.version}; it released "
        f"{_versions(versions)}, the latest on {released_at:%Y-%m-%d} as {public_id}.",
        f"Send the decision for version {suggested}"
        + (", the latest the hub released." if suggested == latest else ".")
        + " A version the hub held (quarantined) never reached the ERP.",
    )


@rule("FORECAST_ACCEPTANCE_NOT_ERP", applies=lambda layout: is_layout(layout, ACCEPTANCE))
def forecast_acceptance_not_erp(facts, obj):
    """A forecast acceptance comes from an ERP system: the forecast is released to the ERP,
    and only the ERP takes it or refuses it."""
    sender = facts.system
    if facts.header is not None or sender.kind == SourceSystem.Kind.ERP:
        return
    yield Finding(
        "decision",
        obj.get("decision"),
        f"{sender.name} ({sender.code}) is not an ERP (its kind is "
        f"{sender.get_kind_display().lower()}); only the ERP a forecast is released to "
        "accepts or rejects it.",
        "Send the decision with the ERP's own API key; if the system is an ERP, a steward "
        "sets its kind to ERP in the admin.",
    )


def _versions(versions):
    """'version 3 only', 'versions 1, 2 and 4', or the last VERSIONS_SHOWN of many."""
    if len(versions) == 1:
        return f"version {versions[0]} only"
    shown = [str(version) for version in versions[-VERSIONS_SHOWN:]]
    text = f"versions {', '.join(shown[:-1])} and {shown[-1]}"
    more = len(versions) - len(shown)
    return text + (f" ({more} earlier)" if more else "")

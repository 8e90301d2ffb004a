"""Demo quarantine settings: each team's service level, so the demo queue shows overdue
cases and the SLA task has somewhere to send its notices (printed to the worker's log unless
HUB_EMAIL_HOST is set). A team's settings that exist already, perhaps edited by a steward,
are left alone.
"""

from quarantine.models import TeamSettings
from validation.models import Team

# Hours a case may stay open, by team: supply-side problems are urgent.
DEMO_SLA_HOURS = {
    Team.PLANNING: 48,
    Team.PROCUREMENT: 8,
    Team.ERP: 24,
    Team.INTEGRATION: 4,
}


def seed_team_settings():
    """One TeamSettings per team, created once."""
    for team, hours in DEMO_SLA_HOURS.items():
        TeamSettings.objects.get_or_create(
            team=team,
            defaults={"sla_hours": hours, "notify_email": f"{team}-team@valdor.example"},
        )

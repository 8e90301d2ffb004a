"""The demo gives every team a service level, once."""

from datetime import date

from demo.seed import seed_demo
from quarantine.models import TeamSettings
from validation.models import Team


def seed():
    seed_demo(items=20, suppliers=4, today=date(2026, 3, 2))


def test_the_demo_gives_every_team_a_service_level_and_keeps_a_stewards_edit(demo_units):
    seed()

    levels = dict(TeamSettings.objects.values_list("team", "sla_hours"))
    assert set(levels) == set(Team.values)
    assert all(hours > 0 for hours in levels.values())
    assert all(TeamSettings.objects.values_list("notify_email", flat=True))

    TeamSettings.objects.filter(team=Team.PLANNING).update(sla_hours=1, notify_email="")
    seed()

    planning = TeamSettings.objects.get(team=Team.PLANNING)
    assert (planning.sla_hours, planning.notify_email) == (1, "")
    assert TeamSettings.objects.count() == len(Team.values)

"""The demo steward login `make run` prints last (`manage.py create_demo_login`)."""

import re
from io import StringIO

from django.core.management import call_command
from django.urls import reverse


def test_it_prints_a_working_demo_login(client, db):
    first = _demo_login()
    second = _demo_login()
    assert first != second
    # Through the login form, as a steward logs in (django-axes needs the request).
    login = reverse("admin:login")
    assert client.post(login, {"username": "steward", "password": first}).status_code == 200
    assert client.post(login, {"username": "steward", "password": second}).status_code == 302
    assert client.get(reverse("admin:mdm_item_changelist")).status_code == 200


def _demo_login():
    out = StringIO()
    call_command("create_demo_login", stdout=out)
    # The login is the last line, so that `make run` shows it just before the server's banner.
    match = re.search(
        r"\nLog in at http://127\.0\.0\.1:8000/admin/ as steward / (\S+)\n\Z", out.getvalue()
    )
    assert match, out.getvalue()
    return match.group(1)


def test_the_demo_login_says_how_to_make_an_administrator(db):
    """README, Logging in: users and groups are an administrator's; the printed login says how
    to get one."""
    out = StringIO()
    call_command("create_demo_login", stdout=out)
    assert "HUB_DEBUG=1 .venv/bin/python manage.py createsuperuser\n" in out.getvalue()


def test_it_prints_a_second_person_who_approves_the_stewards_requests(client, db):
    out = StringIO()
    call_command("create_demo_login", stdout=out)
    match = re.search(r"change requests: approver / (\S+)\n", out.getvalue())
    assert match, out.getvalue()

    login = reverse("admin:login")
    response = client.post(login, {"username": "approver", "password": match.group(1)})
    assert response.status_code == 302
    user = response.wsgi_request.user
    assert user.has_perm("changes.approve_changerequest")
    assert not user.has_perm("changes.emergency_changerequest")
